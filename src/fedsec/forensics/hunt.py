"""Retro-hunt: rescan stored telemetry with a new model and report what it finds that a
baseline model (e.g. the organization's local-only one) missed.

Both bundles score the same files through ``fedsec detect``'s own scorers, in one read of the
input (each chunk scored by both), so each alert names the file and data row it came from;
alerts of the two models are matched on that (file, row) pair. An output folder (written
atomically) holds both alert files, ``found.jsonl`` (the new model's alerts on rows the
baseline did not flag, or flagged as another family), ``dropped.jsonl`` (the baseline's alerts
the new model no longer raises), ``hunt.json`` and ``report.md``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedsec.bundles.bundle import bundle_kind, load_manifest
from fedsec.bundles.fields import LOGS_KIND
from fedsec.bundles.signing import Authenticity, Trust
from fedsec.core import atomic, outputs
from fedsec.core.errors import BundleError, InputError
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.data.taxonomy import BENIGN, UNLABELED
from fedsec.detect.dispatch import flow_chunk_scorer
from fedsec.detect.records import DetectionSummary
from fedsec.detect.scoring import ScorersTogether, score_files_together
from fedsec.forensics.alert_fields import AlertFields, alert_fields, annotate
from fedsec.forensics.hunt_report import render

WRITER = "fedsec hunt"
MODEL_ALERTS = "alerts-model.jsonl"
BASELINE_ALERTS = "alerts-baseline.jsonl"
FOUND = "found.jsonl"
DROPPED = "dropped.jsonl"
SUMMARY = "hunt.json"
REPORT = "report.md"

MISSED = "missed_by_baseline"  # the baseline raised no alert on the row
OTHER_FAMILY = "baseline_other_family"  # the baseline flagged the row as another family
SAME = "baseline_same_family"


@dataclass(frozen=True)
class Side:
    """One model of the hunt: its bundle and the operating point it scores at."""

    bundle: Path
    org: str | None = None
    threshold: float | None = None


@dataclass
class InputLabels:
    """The input's own labels: rows per family, and the family each label maps to."""

    totals: Counter[str] = field(default_factory=Counter)
    family: dict[str, str] = field(default_factory=dict)

    def family_of(self, label: str | None) -> str:
        return self.family.get(label, UNLABELED) if label is not None else UNLABELED

    def add(self, table: FlowTable) -> None:
        """A chunk's rows counted by their own labels' families, and each label's family."""
        known = table.family != UNLABELED
        self.totals.update(table.family[known].tolist())
        pairs = zip(table.label[known].tolist(), table.family[known].tolist(), strict=True)
        self.family.update({str(label): str(family) for label, family in set(pairs)})


@dataclass(frozen=True)
class BaselineAlert:
    """What the comparison keeps of one baseline alert: not the alert, where its line is."""

    family: str
    label: str | None  # the input's own label of the row
    offset: int  # where its line begins in the baseline's alert file


@dataclass
class Comparison:
    """The new model's alerts by (family, status) and the baseline's alerts it dropped."""

    by_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    confirmed: Counter[tuple[str, str]] = field(default_factory=Counter)  # attacks per labels
    dropped: Counter[str] = field(default_factory=Counter)
    model_rows: dict[tuple[str, str], str | None] = field(default_factory=dict)  # key -> label
    baseline: list[tuple[tuple[str, str], BaselineAlert]] = field(default_factory=list)  # in order


@dataclass
class HuntResult:
    """What a hunt found (``hunt.json``)."""

    out: Path
    rows: int
    model: dict[str, Any]
    baseline: dict[str, Any]
    families: list[dict[str, Any]]
    truth: list[dict[str, Any]] | None
    dropped: dict[str, int]
    authenticity: dict[str, Authenticity | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "model": self.model,
            "baseline": self.baseline,
            "families": self.families,
            "truth": self.truth,
            "dropped": self.dropped,
            "files": {
                "model_alerts": MODEL_ALERTS,
                "baseline_alerts": BASELINE_ALERTS,
                "found": FOUND,
                "dropped": DROPPED,
            },
        }


def retro_hunt(
    model: Side,
    baseline: Side,
    inputs: Sequence[Path],
    fmt: str,
    out: Path,
    *,
    trust: Trust | None = None,
    mapping: Mapping | None = None,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> HuntResult:
    """Score ``inputs`` with both bundles and compare their alerts row by row, into the folder
    ``out`` (it appears complete or not at all; an earlier hunt there is replaced only with
    ``force``). ``workers``: chunks scored at once; ``progress(rows, alerts)``: told the rows
    both models scored and the new model's alerts so far."""
    for side in (model, baseline):
        refuse_logs(side.bundle)
    with outputs.output_directory(Path(out), WRITER, force=force) as staging:
        scored, input_labels = score_both(
            (model, baseline), inputs, fmt, staging, trust, mapping, workers, progress
        )
        labels = input_labels if labeled(scored) else None
        comparison = compare(staging, labels)
        baseline_classes = set(load_manifest(baseline.bundle).get("classes", []))
        result = HuntResult(
            out=Path(out),
            rows=scored["model"].rows,
            model=describe(model, scored["model"]),
            baseline=describe(baseline, scored["baseline"]),
            families=family_rows(comparison, baseline_classes),
            truth=truth_rows(comparison, labels) if labels is not None else None,
            dropped=dict(comparison.dropped.most_common()),
            authenticity={k: s.authenticity for k, s in scored.items()},
        )
        atomic.write_json(staging / SUMMARY, result.to_json())
        atomic.write_text(staging / REPORT, render(result))
    return result


def refuse_logs(bundle: Path) -> None:
    """Log-session bundles flag sessions, not rows of a flow file: not hunted (yet)."""
    if bundle_kind(load_manifest(bundle)) == LOGS_KIND:
        raise BundleError(
            f"{bundle}: a logs bundle; fedsec hunt compares flow models (classifier, trees, "
            "anomaly) row by row; score log sessions with fedsec detect"
        )


def score_both(
    sides: tuple[Side, Side],
    inputs: Sequence[Path],
    fmt: str,
    staging: Path,
    trust: Trust | None,
    mapping: Mapping | None,
    workers: int | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, DetectionSummary], InputLabels]:
    """The new model's and the baseline's alerts into ``staging``, through ``fedsec detect``'s
    own scorers, the input read once; its own labels counted on the way."""
    names = ("model", "baseline")
    scorers = {
        name: flow_chunk_scorer(
            side.bundle,
            list(inputs),
            fmt,
            org=side.org,
            threshold=side.threshold,
            trust=trust,
            mapping=mapping,
        )
        for name, side in zip(names, sides, strict=True)
    }
    labels = InputLabels()
    together = ScorersTogether([scorer for scorer, _ in scorers.values()], labels.add)
    outs = [staging / MODEL_ALERTS, staging / BASELINE_ALERTS]
    score_files_together(together, fmt, inputs, outs, mapping, workers=workers, progress=progress)
    scored = {}
    for name, (scorer, authenticity) in scorers.items():
        scored[name] = scorer.summary()
        scored[name].authenticity = authenticity
    return scored, labels


def labeled(scored: dict[str, DetectionSummary]) -> bool:
    """Whether flagged rows carried the input's own labels (``fedsec detect``'s note)."""
    return any(summary.truth_note for summary in scored.values())


def read_alerts(path: Path) -> Iterator[tuple[dict, AlertFields, int]]:
    """Each alert of a file ``fedsec detect`` wrote, with the hunt's view of it and where its
    line begins in the file."""
    offset = 0
    with open(path, "rb") as lines:
        for number, text in enumerate(lines, 1):
            record = json.loads(text)
            try:
                yield record, alert_fields(record, f"{path.name}:{number}"), offset
            except ValueError as error:
                raise InputError(path, str(error)) from error
            offset += len(text)


def compare(staging: Path, labels: InputLabels | None) -> Comparison:
    """Match the two alert files on (file, row); write ``found.jsonl`` and ``dropped.jsonl``.
    Each file is read once; a dropped alert is copied from its line in the baseline's file."""
    comparison = Comparison()
    for _, fields, offset in read_alerts(staging / BASELINE_ALERTS):
        comparison.baseline.append((fields.key, BaselineAlert(fields.family, fields.label, offset)))
    baseline = {key: alert.family for key, alert in comparison.baseline}
    with atomic.stream(staging / FOUND) as found:
        for record, fields, _ in read_alerts(staging / MODEL_ALERTS):
            seen = baseline.get(fields.key)
            status = MISSED if seen is None else SAME if seen == fields.family else OTHER_FAMILY
            comparison.by_status[fields.family, status] += 1
            comparison.model_rows[fields.key] = fields.label
            if labels is not None and labels.family_of(fields.label) not in (BENIGN, UNLABELED):
                comparison.confirmed[fields.family, status] += 1
            if status != SAME:
                note = {"status": status, "baseline_family": seen}
                found.write(line(annotate(record, note)))
    gone = [alert for key, alert in comparison.baseline if key not in comparison.model_rows]
    with atomic.stream(staging / DROPPED) as dropped, open(staging / BASELINE_ALERTS, "rb") as old:
        for alert in gone:
            comparison.dropped[alert.family] += 1
            old.seek(alert.offset)
            dropped.write(line(json.loads(old.readline())))
    return comparison


def line(record: dict) -> bytes:
    """One alert as a JSON line."""
    return (json.dumps(record, default=str) + "\n").encode("utf-8")


def family_rows(comparison: Comparison, baseline_classes: set[str]) -> list[dict[str, Any]]:
    """Per family the new model names: its alerts, and how the baseline judged those rows."""
    families = sorted(
        {family for family, _ in comparison.by_status},
        key=lambda f: (-comparison.by_status[f, MISSED], f),
    )
    rows = []
    for family in families:
        counts = {status: comparison.by_status[family, status] for status in (SAME, OTHER_FAMILY)}
        missed = comparison.by_status[family, MISSED]
        row = {
            "family": family,
            "alerts": missed + sum(counts.values()),
            **counts,
            MISSED: missed,
            "in_baseline_classes": family in baseline_classes if baseline_classes else None,
        }
        if comparison.confirmed:
            row["missed_by_baseline_attacks_per_labels"] = comparison.confirmed[family, MISSED]
        rows.append(row)
    return rows


def truth_rows(comparison: Comparison, labels: InputLabels) -> list[dict[str, Any]]:
    """Per family of the input's own labels: rows, and how many each model flagged (as any
    family), the new model alone, the baseline alone."""
    by_model: Counter[str] = Counter()
    only_model: Counter[str] = Counter()
    by_baseline: Counter[str] = Counter()
    only_baseline: Counter[str] = Counter()
    for key, alert in comparison.baseline:
        truth = labels.family_of(alert.label)
        by_baseline[truth] += 1
        only_baseline[truth] += key not in comparison.model_rows
    baseline_keys = {key for key, _ in comparison.baseline}
    for key, label in comparison.model_rows.items():
        truth = labels.family_of(label)
        by_model[truth] += 1
        only_model[truth] += key not in baseline_keys
    return [
        {
            "family": name,
            "rows": total,
            "model_flagged": by_model[name],
            "baseline_flagged": by_baseline[name],
            "model_only": only_model[name],
            "baseline_only": only_baseline[name],
        }
        for name, total in sorted(labels.totals.items(), key=lambda item: (-item[1], item[0]))
    ]


def describe(side: Side, summary: DetectionSummary) -> dict[str, Any]:
    """Which bundle scored, at which operating point, and what it trained on."""
    manifest = load_manifest(side.bundle)
    provenance = manifest.get("provenance", {})
    return {
        "bundle": str(side.bundle),
        "kind": bundle_kind(manifest),
        "weights_sha256": manifest.get("weights_sha256"),
        "arm": provenance.get("arm"),
        "organizations": provenance.get("organizations"),
        "classes": manifest.get("classes"),
        "org": side.org,
        "threshold": side.threshold,
        "alerts": summary.alerts,
        "by_family": summary.by_family,
        "signature": summary.authenticity.describe() if summary.authenticity else None,
    }

"""Retro-hunt: rescan stored telemetry with a new model and report what it finds that a
baseline model (e.g. the organization's local-only one) missed.

Both bundles score the same files through ``fedsec detect``'s own scorers, in one read of the
input (each chunk scored by both), so each alert names the file and data row it came from; the
two models' alerts are matched on their row as each chunk is scored. An output folder (written
atomically) holds both alert files, ``found.jsonl`` (the new model's alerts on rows the
baseline did not flag, or flagged as another family), ``dropped.jsonl`` (the baseline's alerts
the new model no longer raises), ``hunt.json`` and ``report.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from fedsec import __version__
from fedsec.bundles.bundle import MANIFEST, bundle_kind, load_manifest
from fedsec.bundles.fields import LOGS_KIND
from fedsec.bundles.signing import Authenticity, Trust
from fedsec.core import atomic, outputs
from fedsec.core.errors import BundleError
from fedsec.core.provenance import file_record
from fedsec.data.mapping import Mapping
from fedsec.data.taxonomy import BENIGN, UNLABELED
from fedsec.detect.dispatch import flow_chunk_scorer, model_columns, with_input_notes
from fedsec.detect.operating_point import PointOptions, PointRefused
from fedsec.detect.records import DetectionSummary
from fedsec.detect.scoring import ChunkScorer, ScoredChunk, ScorersTogether, score_files_together
from fedsec.forensics.alert_fields import annotate
from fedsec.forensics.hunt_report import render

WRITER = "fedsec hunt"
MODEL_ALERTS = "alerts-model.jsonl"
BASELINE_ALERTS = "alerts-baseline.jsonl"
FOUND = "found.jsonl"
DROPPED = "dropped.jsonl"
SUMMARY = "hunt.json"
REPORT = "report.md"

SIDES = ("model", "baseline")
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
class Comparison:
    """The two models' alerts matched row by row: the new model's by (family, status), the
    baseline's it no longer raises, and per family of the input's own labels its rows and
    what each model flagged."""

    by_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    confirmed: Counter[tuple[str, str]] = field(default_factory=Counter)  # attacks per labels
    dropped: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)  # labeled rows per family
    by_model: Counter[str] = field(default_factory=Counter)
    only_model: Counter[str] = field(default_factory=Counter)
    by_baseline: Counter[str] = field(default_factory=Counter)
    only_baseline: Counter[str] = field(default_factory=Counter)


class Matcher:
    """Each chunk's alerts of the two models matched on their row as the chunks are scored
    (``ScorersTogether``'s ``seen``, in the input's order): counted, and the found and
    dropped alerts written from the chunk's alert lines (a found one parsed to add the hunt's
    note, a dropped one copied); the alert files are not read back."""

    def __init__(
        self, scorers: tuple[ChunkScorer, ChunkScorer], found: BinaryIO, dropped: BinaryIO
    ) -> None:
        self.model, self.baseline = scorers
        self.found, self.dropped = found, dropped
        self.comparison = Comparison()

    def __call__(self, scored: tuple[ScoredChunk, ...]) -> None:
        new, old = scored
        truth = new.table.family  # the input's own family of each row
        self.comparison.rows.update(truth[truth != UNLABELED].tolist())
        rows, families = self.model.alerted(new)
        old_rows, old_families = self.baseline.alerted(old)
        before = np.full(len(truth), None, dtype=object)
        before[old_rows] = old_families
        now = np.zeros(len(truth), dtype=bool)
        now[rows] = True
        self._new(rows, families, _lines(new.lines, len(rows)), before, truth)
        self._old(old_rows, old_families, _lines(old.lines, len(old_rows)), now, truth)

    def _new(
        self,
        rows: np.ndarray,
        families: np.ndarray,
        lines: list[bytes],
        before: np.ndarray,
        truth: np.ndarray,
    ) -> None:
        """The new model's alerts: each against the baseline's family of its row."""
        c = self.comparison
        for row, family, text in zip(rows.tolist(), families.tolist(), lines, strict=True):
            seen = before[row]
            status = MISSED if seen is None else SAME if seen == family else OTHER_FAMILY
            c.by_status[family, status] += 1
            c.by_model[truth[row]] += 1
            c.only_model[truth[row]] += seen is None
            if truth[row] not in (BENIGN, UNLABELED):
                c.confirmed[family, status] += 1
            if status != SAME:
                note = {"status": status, "baseline_family": seen}
                self.found.write(line(annotate(json.loads(text), note)))

    def _old(
        self,
        rows: np.ndarray,
        families: np.ndarray,
        lines: list[bytes],
        now: np.ndarray,
        truth: np.ndarray,
    ) -> None:
        """The baseline's alerts: those the new model does not raise are dropped."""
        c = self.comparison
        for row, family, text in zip(rows.tolist(), families.tolist(), lines, strict=True):
            c.by_baseline[truth[row]] += 1
            if not now[row]:
                c.only_baseline[truth[row]] += 1
                c.dropped[family] += 1
                self.dropped.write(text + b"\n")  # as the baseline's file holds it


def _lines(text: bytes, alerts: int) -> list[bytes]:
    """A chunk's alert lines, one per alert."""
    lines = text.split(b"\n")[:-1]
    if len(lines) != alerts:
        raise RuntimeError(f"{len(lines)} alert lines for {alerts} alerts in a chunk")
    return lines


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
    inputs: list[dict[str, Any]] = field(default_factory=list)  # each file's path and sha256
    notices: list[str] = field(default_factory=list)  # what the analyst must know of the input
    warnings: list[str] = field(default_factory=list)  # likely unit mistakes (detect/drift.py)

    def to_json(self) -> dict[str, Any]:
        return {
            "fedsec_version": __version__,
            "inputs": self.inputs,
            "rows": self.rows,
            "notices": self.notices,
            "warnings": self.warnings,
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
    scanned = [file_record(path) for path in inputs]  # as they were when the scan began
    with outputs.output_directory(Path(out), WRITER, force=force) as staging:
        with atomic.stream(staging / FOUND) as found, atomic.stream(staging / DROPPED) as gone:
            sides, streams = (model, baseline), (found, gone)
            scored, comparison = score_both(
                sides, inputs, fmt, staging, (trust, mapping), workers, progress, streams
            )
        baseline_classes = set(load_manifest(baseline.bundle).get("classes", []))
        result = HuntResult(
            out=Path(out),
            rows=scored["model"].rows,
            model=describe(model, scored["model"]),
            baseline=describe(baseline, scored["baseline"]),
            families=family_rows(comparison, baseline_classes),
            truth=truth_rows(comparison) if labeled(scored) else None,
            dropped=dict(comparison.dropped.most_common()),
            authenticity={k: s.authenticity for k, s in scored.items()},
            inputs=scanned,
            notices=input_notices(scored),
            warnings=unit_warnings(scored),
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
    reading: tuple[Trust | None, Mapping | None],
    workers: int | None,
    progress: Callable[[int, int], None] | None,
    streams: tuple[BinaryIO, BinaryIO],
) -> tuple[dict[str, DetectionSummary], Comparison]:
    """The new model's and the baseline's alerts into ``staging``, through ``fedsec detect``'s
    own scorers, the input read once (``reading``: the bundles' trust, the input's mapping);
    the two matched row by row on the way, the found and dropped alerts into ``streams``."""
    trust, mapping = reading
    scorers = {}
    for name, side in zip(SIDES, sides, strict=True):
        try:
            scorers[name] = flow_chunk_scorer(
                side.bundle,
                list(inputs),
                fmt,
                org=side.org,
                threshold=side.threshold,
                trust=trust,
                mapping=mapping,
            )
        except PointRefused as refusal:  # worded in hunt's options for this side
            raise refusal.worded_for(HUNT_OPTIONS[name]) from refusal
    model, baseline = (scorer for scorer, _ in scorers.values())
    matcher = Matcher((model, baseline), *streams)
    together = ScorersTogether([model, baseline], matcher)
    outs = [staging / MODEL_ALERTS, staging / BASELINE_ALERTS]
    mapping = model_columns(mapping, model, baseline)
    score_files_together(together, fmt, inputs, outs, mapping, workers=workers, progress=progress)
    scored = {}
    for name, (scorer, authenticity) in scorers.items():
        scored[name] = with_input_notes(scorer.summary(), scorer, fmt, reading[1])
        scored[name].authenticity = authenticity
        scored[name].threshold = scorer.applied_threshold()
    return scored, matcher.comparison


#: Each side's names for its operating point (hunt has no ``--organization``: its alerts are
#: named by the input).
HUNT_OPTIONS = {
    "model": PointOptions(organization=None),
    "baseline": PointOptions("--baseline-threshold", "--baseline-org", None),
}


def unit_warnings(scored: dict[str, DetectionSummary]) -> list[str]:
    """Each input column far from what either model was trained on, said once."""
    return said_once([[shift.describe() for shift in scored[side].shifts] for side in SIDES])


def input_notices(scored: dict[str, DetectionSummary]) -> list[str]:
    """What the analyst must know of the input under either model, said once."""
    return said_once([scored[side].notices for side in SIDES])


def said_once(by_side: list[list[str]]) -> list[str]:
    """The new model's lines, then the baseline's it did not say (marked as the baseline's)."""
    model, baseline = by_side
    return list(model) + [f"baseline: {line}" for line in baseline if line not in model]


def labeled(scored: dict[str, DetectionSummary]) -> bool:
    """Whether flagged rows carried the input's own labels (``fedsec detect``'s note)."""
    return any(summary.truth_note for summary in scored.values())


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


def truth_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Per family of the input's own labels: rows, and how many each model flagged (as any
    family), the new model alone, the baseline alone."""
    c = comparison
    return [
        {
            "family": name,
            "rows": total,
            "model_flagged": c.by_model[name],
            "baseline_flagged": c.by_baseline[name],
            "model_only": c.only_model[name],
            "baseline_only": c.only_baseline[name],
        }
        for name, total in sorted(c.rows.items(), key=lambda item: (-item[1], item[0]))
    ]


def describe(side: Side, summary: DetectionSummary) -> dict[str, Any]:
    """Which bundle scored, at which operating point, and what it trained on."""
    manifest = load_manifest(side.bundle)
    provenance = manifest.get("provenance", {})
    authenticity = summary.authenticity
    return {
        "bundle": str(side.bundle),
        "sha256": hashlib.sha256((side.bundle / MANIFEST).read_bytes()).hexdigest(),
        "kind": bundle_kind(manifest),
        "weights_sha256": manifest.get("weights_sha256"),
        "arm": provenance.get("arm"),
        "organizations": provenance.get("organizations"),
        "classes": manifest.get("classes"),
        "org": side.org,
        "threshold": summary.threshold,  # the one applied: the option's, or the org's
        "alerts": summary.alerts,
        "by_family": summary.by_family,
        "signature": authenticity.describe() if authenticity else None,
        "signer": authenticity.fingerprint if authenticity else None,
    }

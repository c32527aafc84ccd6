"""Score new telemetry with a model bundle and write alerts as JSON Lines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.bundles.bundle import (
    ANOMALY_KIND,
    authenticate,
    bundle_kind,
    load_bundle,
    load_manifest,
)
from fedsec.bundles.keys import user_trust
from fedsec.bundles.logs_bundle import KIND as LOGS_KIND
from fedsec.bundles.signing import Authenticity, Trust
from fedsec.core import atomic
from fedsec.core.errors import BundleError, InputError
from fedsec.data.flows import FlowTable
from fedsec.data.logs import SessionOptions
from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import BENIGN, UNLABELED
from fedsec.models.classifier import FamilyClassifier


@dataclass
class DetectionSummary:
    rows: int
    alerts: int
    by_family: dict[str, int] = field(default_factory=dict)
    truth_note: dict[str, str] = field(default_factory=dict)
    authenticity: Authenticity | None = None  # who signed the bundle that scored the rows


def check_columns(model: FamilyClassifier, table: FlowTable, inputs: Sequence[Path]) -> None:
    """The input must carry every feature the model needs (columns that were missing in
    training data may be absent)."""
    frame = table.features(model.view).frame
    pre = model.preprocessor
    required = [s.name for s in pre.numeric if not s.indicator] + list(pre.categorical)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            inputs[0],
            f"lacks columns the model was trained on: {missing[:10]}"
            + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""),
        )


def check_format(view: str, manifest: dict, fmt: str, inputs: Sequence[Path]) -> None:
    """Native features only mean something in the format the model was trained on."""
    trained_on = manifest.get("provenance", {}).get("input_formats", [])
    if view == "native" and trained_on and fmt not in trained_on:
        raise InputError(
            inputs[0],
            f"model was trained on native {trained_on} features; "
            f"{fmt!r} files need a model trained on the canonical view",
        )


def context_record(table: FlowTable, row: int, context: pd.Series) -> dict:
    """An alert's start: where the row was read (the file and its data row there, 1-based,
    header not counted; ``row`` is its position among all rows scored) and its non-empty
    context (time, addresses, ports, ...)."""
    record: dict = {
        "row": int(row),
        "source_file": str(table.source_file[row]),
        "source_row": int(table.source_row[row]),
    }
    for column, value in context.items():
        if not pd.isna(value):
            record[column] = value.item() if hasattr(value, "item") else value
    return record


def add_dataset_label(record: dict, table: FlowTable, row: int) -> None:
    """The input's own label, when it has one (unlabeled input: none)."""
    if table.family[row] != UNLABELED:
        record["dataset_label"] = str(table.label[row])


def write_alerts(out: Path, records: list[dict]) -> None:
    """One JSON object per line, written atomically."""
    atomic.write_text(Path(out), "".join(json.dumps(r, default=str) + "\n" for r in records))


def alert_records(
    table: FlowTable, proba: np.ndarray, labels: np.ndarray, scores: np.ndarray, classes: list[str]
) -> list[dict]:
    flagged = np.flatnonzero(labels != BENIGN)
    context = table.context.iloc[flagged].reset_index(drop=True)
    order = np.argsort(-proba[flagged], axis=1)[:, :3]
    records = []
    for i, row in enumerate(flagged):
        record = context_record(table, row, context.iloc[i])
        record["family"] = str(labels[row])
        record["score"] = round(float(scores[row]), 6)
        record["top_families"] = {classes[c]: round(float(proba[row, c]), 4) for c in order[i]}
        add_dataset_label(record, table, row)
        records.append(record)
    return records


def run_detection(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    out: Path,
    *,
    org: str | None = None,
    threshold: float | None = None,
    namespace: str | None = None,
    options: SessionOptions | None = None,
    trust: Trust | None = None,
) -> DetectionSummary:
    """Alerts from any bundle: the manifest's kind picks the detector (the one dispatch), once
    the bundle's signature is verified against ``trust`` (default: the user's trusted keys)."""
    trust = trust if trust is not None else user_trust()
    manifest = load_manifest(model_dir)
    authenticity = authenticate(model_dir, manifest, trust)
    kind = bundle_kind(manifest)
    if kind == ANOMALY_KIND:
        from fedsec.detect.anomaly_alerts import run_anomaly_detection

        summary = run_anomaly_detection(
            model_dir, inputs, fmt, out, org=org, threshold=threshold, trust=trust
        )
    elif kind == LOGS_KIND:
        from fedsec.detect.logs import run_log_detection

        if threshold is not None:
            raise InputError(model_dir, "--threshold does not apply to a logs bundle (top-k)")
        summary = run_log_detection(
            model_dir, inputs, fmt, out, org=org, namespace=namespace, options=options, trust=trust
        )
    else:
        summary = run_flow_detection(model_dir, inputs, fmt, out, org, threshold, trust)
    summary.authenticity = authenticity
    return summary


def run_flow_detection(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    out: Path,
    org: str | None,
    threshold: float | None,
    trust: Trust,
) -> DetectionSummary:
    """Alerts from a family-classifier bundle."""
    model, manifest = load_bundle(model_dir, trust)
    chosen = threshold if threshold is not None else operating_threshold(model, model_dir, org)
    table = read_flows(fmt, list(inputs))
    check_format(model.view, manifest, fmt, inputs)
    check_columns(model, table, inputs)
    proba = model.predict_proba(table.features(model.view).frame)
    scores = model.malicious_score(proba)
    labels = model.labels_from_proba(proba, chosen)
    write_alerts(out, alert_records(table, proba, labels, scores, model.classes))
    return _summary(table, labels)


def operating_threshold(model: FamilyClassifier, model_dir: Path, org: str | None) -> float | None:
    """The bundle's own decision for ``org``: its calibrated threshold, or None (arg-max).

    ``--org`` picks an organization's operating threshold, which only a bundle deciding by
    thresholds (``decision = "fpr"``) has; with an arg-max bundle it is refused rather than
    silently replacing the bundle's decision rule."""
    if org is None:
        return model.threshold_for(None)
    if model.decision != "fpr":
        raise BundleError(
            f"{model_dir}: this bundle decides by {model.decision!r}, not by per-organization "
            f"thresholds, so --org {org} has nothing to select; drop --org, or pass "
            "--threshold to flag rows by malicious score"
        )
    if org not in model.thresholds:
        raise BundleError(
            f"{model_dir}: no threshold for org {org!r}; "
            f"known: {sorted(k for k in model.thresholds if k != '*')}"
        )
    return model.threshold_for(org)


def _summary(table: FlowTable, labels: np.ndarray) -> DetectionSummary:
    flagged = labels != BENIGN
    by_family = dict(Counter(labels[flagged]).most_common())
    notes = {}
    for family in by_family:
        truth = table.family[labels == family]
        known = truth[truth != UNLABELED]
        if len(known):
            attacks = float(np.mean(known != BENIGN))
            notes[family] = f"{attacks:.0%} attacks per the input's own labels"
    return DetectionSummary(len(table), int(flagged.sum()), by_family, notes)

"""Score new telemetry with a model bundle and write alerts as JSON Lines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec import atomic
from fedsec.data.flows import FlowTable
from fedsec.data.logs import SessionOptions
from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import BENIGN, UNLABELED
from fedsec.errors import BundleError, InputError
from fedsec.models.bundle import ANOMALY_KIND, bundle_kind, load_bundle, load_manifest
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.logs_bundle import KIND as LOGS_KIND


@dataclass
class DetectionSummary:
    rows: int
    alerts: int
    by_family: dict[str, int] = field(default_factory=dict)
    truth_note: dict[str, str] = field(default_factory=dict)


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
) -> DetectionSummary:
    """Alerts from any bundle: the manifest's kind picks the detector (the one dispatch)."""
    kind = bundle_kind(load_manifest(model_dir))
    if kind == ANOMALY_KIND:
        from fedsec.detect.anomaly_alerts import run_anomaly_detection

        return run_anomaly_detection(model_dir, inputs, fmt, out, org=org, threshold=threshold)
    if kind == LOGS_KIND:
        from fedsec.detect.logs import run_log_detection

        if threshold is not None:
            raise InputError(model_dir, "--threshold does not apply to a logs bundle (top-k)")
        return run_log_detection(
            model_dir, inputs, fmt, out, org=org, namespace=namespace, options=options
        )
    model, manifest = load_bundle(model_dir)
    if org is not None and org not in model.thresholds:
        raise BundleError(
            f"{model_dir}: no threshold for org {org!r}; "
            f"known: {sorted(k for k in model.thresholds if k != '*')}"
        )
    table = read_flows(fmt, list(inputs))
    check_format(model.view, manifest, fmt, inputs)
    check_columns(model, table, inputs)
    proba = model.predict_proba(table.features(model.view).frame)
    scores = model.malicious_score(proba)
    chosen = (
        threshold
        if threshold is not None
        else (model.thresholds.get(org) if org is not None else model.threshold_for(None))
    )
    labels = model.labels_from_proba(proba, chosen)
    write_alerts(out, alert_records(table, proba, labels, scores, model.classes))
    return _summary(table, labels)


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

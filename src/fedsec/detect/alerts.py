"""Flow alerts from a family-classifier bundle: the family, malicious score and top families."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import BENIGN, UNLABELED
from fedsec.detect.records import (
    DetectionSummary,
    add_dataset_label,
    check_columns,
    check_format,
    context_record,
    write_alerts,
)
from fedsec.models.classifier import FamilyClassifier


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


def run_flow_detection(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    out: Path,
    org: str | None,
    threshold: float | None,
    trust: Trust,
    mapping: Mapping | None = None,
) -> DetectionSummary:
    """Alerts from a family-classifier bundle (``mapping``: for format ``mapped``)."""
    model, manifest = load_bundle(model_dir, trust)
    chosen = threshold if threshold is not None else operating_threshold(model, model_dir, org)
    table = read_flows(fmt, list(inputs), mapping)
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
    if org not in model.thresholds_:
        raise BundleError(
            f"{model_dir}: no threshold for org {org!r}; "
            f"known: {sorted(k for k in model.thresholds_ if k != '*')}"
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

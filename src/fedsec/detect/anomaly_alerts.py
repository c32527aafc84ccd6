"""Score telemetry with an anomaly bundle: one alert per row above the threshold, with the
input columns that contributed most to its reconstruction error."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.bundles.anomaly_bundle import load_anomaly_bundle
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError
from fedsec.data.flows import FlowTable
from fedsec.data.taxonomy import BENIGN, UNLABELED
from fedsec.detect.alert_times import refuse_unreadable_time
from fedsec.detect.file_features import file_names, file_values
from fedsec.detect.fingerprints import add_fingerprints
from fedsec.detect.formats import FLAT, AlertFormat
from fedsec.detect.operating_point import PointBundleError, PointConfigError
from fedsec.detect.records import (
    DetectionSummary,
    add_dataset_label,
    add_network,
    context_records,
)
from fedsec.detect.scoring import ChunkScorer, ScoredChunk
from fedsec.models.base import GLOBAL
from fedsec.models.one_class import OneClassScorer

ANOMALY = "anomaly"


def choose_threshold(
    model: OneClassScorer, model_dir: Path, org: str | None, threshold: float | None
) -> tuple[float, str]:
    """The threshold to apply and where it comes from (option, org, or the global one)."""
    if threshold is not None:
        if not (math.isfinite(threshold) and threshold >= 0):  # -1 flagged every row
            raise PointConfigError(
                lambda o: (
                    f"{o.threshold} {threshold}: an anomaly score threshold is a finite number "
                    "of 0 or more (scores never fall below 0, so this would flag every row or "
                    "none)"
                )
            )
        return float(threshold), "--threshold"
    if org is not None:
        if org not in model.thresholds_:
            known = sorted(k for k in model.thresholds_ if k != GLOBAL)
            raise BundleError(f"{model_dir}: no threshold for org {org!r}; known: {known}")
        return model.thresholds_[org], f"org {org}"
    if GLOBAL not in model.thresholds_:
        raise PointBundleError(
            lambda o: f"{model_dir}: no global threshold; pass {o.org} or {o.threshold}"
        )
    return model.thresholds_[GLOBAL], "global"


def _value(frame: pd.DataFrame, column: str, row: int) -> object:
    if column not in frame.columns:
        return None
    value = frame[column].iloc[row]
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def top_features(
    model: OneClassScorer, x: np.ndarray, table: FlowTable, rows: np.ndarray, k: int
) -> list[list[dict]]:
    """Per flagged row, the ``k`` input columns with the largest share of its error (``x``:
    ``table``'s rows encoded), named as the file names them (:mod:`.file_features`)."""
    frame = table.features(model.view).frame
    if model.kind != "ae" or len(rows) == 0:
        return [[] for _ in rows]
    columns, shares = model.contributions(x[rows])
    renamed = file_names(table, model.view, list(columns))
    values = file_values(table, frame, renamed)
    columns = [renamed.get(name, name) for name in columns]
    order = np.argsort(-shares, axis=1, kind="stable")[:, :k]
    return [
        [
            {
                "feature": columns[c],
                "share": round(float(shares[i, c]), 4),
                "value": _value(values, columns[c], int(row)),
            }
            for c in order[i]
        ]
        for i, row in enumerate(rows)
    ]


def alert_records(
    table: FlowTable,
    scores: np.ndarray,
    rows: np.ndarray,
    threshold: tuple[float, str],
    features: list[list[dict]],
    offset: int = 0,
) -> list[dict]:
    """One alert per row in ``rows`` (``offset``: rows scored before this table)."""
    records = context_records(table, rows, offset)
    for i, (row, record) in enumerate(zip(rows, records, strict=True)):
        record["family"] = ANOMALY
        record["score"] = round(float(scores[row]), 6)
        record["threshold"] = round(threshold[0], 6)
        record["threshold_source"] = threshold[1]
        record["top_features"] = features[i]
        add_dataset_label(record, table, row)
    return records


class AnomalyScorer(ChunkScorer):
    """An anomaly detector's alerts (rows are scored one by one, so chunks change nothing)."""

    def __init__(
        self,
        model: OneClassScorer,
        manifest: dict,
        fmt: str,
        inputs: Sequence[Path],
        chosen: tuple[float, str],
        top: int = 5,
        alerts: AlertFormat = FLAT,
    ) -> None:
        super().__init__(model, manifest, fmt, inputs, alerts)
        self.chosen, self.top = chosen, top
        self.tally = _Tally()

    def applied_threshold(self) -> float | None:
        return self.chosen[0]

    def records(self, table: FlowTable, offset: int) -> tuple[list[dict], np.ndarray]:
        """The chunk's alerts, and the rows flagged (what the tally counts)."""
        model = self.model
        frame = table.features(model.view).frame
        x = model.encode(frame)
        scores = model.score_matrix(x)
        rows = np.flatnonzero(scores > self.chosen[0])
        refuse_unreadable_time(table, rows)  # naming the file's columns, as records cannot
        features = top_features(model, x, table, rows, self.top)
        records = alert_records(table, scores, rows, self.chosen, features, offset)
        if self.alerts.explain:
            add_network(records, table, rows)
            add_fingerprints(records, table, rows)
        return records, rows

    def alerted(self, scored: ScoredChunk) -> tuple[np.ndarray, np.ndarray]:
        return scored.flagged, np.full(len(scored.flagged), ANOMALY, dtype=object)


def anomaly_scorer(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    *,
    org: str | None = None,
    threshold: float | None = None,
    top: int = 5,
    trust: Trust | None = None,
    alerts: AlertFormat = FLAT,
) -> AnomalyScorer:
    """The scorer of an anomaly bundle, its threshold chosen (option, org, or global), its
    alert lines in the ``alerts`` format."""
    model, manifest = load_anomaly_bundle(model_dir, trust)
    chosen = choose_threshold(model, model_dir, org, threshold)
    return AnomalyScorer(model, manifest, fmt, inputs, chosen, top, alerts)


class _Tally:
    """Rows scored, flagged, and flagged with a label (and an attack one) in the input."""

    def __init__(self) -> None:
        self.rows = self.flagged = self.known = self.attacks = 0

    def add(self, table: FlowTable, rows: np.ndarray) -> None:
        self.rows += len(table)
        self.flagged += len(rows)
        truth = table.family[rows]
        known = truth[truth != UNLABELED]
        self.known += len(known)
        self.attacks += int(np.sum(known != BENIGN))

    def absorb(self, other: _Tally) -> None:
        """``other``'s counts added to these."""
        self.rows += other.rows
        self.flagged += other.flagged
        self.known += other.known
        self.attacks += other.attacks

    def summary(self) -> DetectionSummary:
        if self.flagged == 0:
            return DetectionSummary(self.rows, 0)
        notes = {}
        if self.known:
            notes[ANOMALY] = f"{self.attacks / self.known:.0%} attacks per the input's own labels"
        return DetectionSummary(self.rows, self.flagged, {ANOMALY: self.flagged}, notes)

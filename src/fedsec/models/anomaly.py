"""One-class detectors behind the Detector interface: scores, thresholds, predictions.

:class:`AnomalyDetector` wraps a trained autoencoder (``ae``) or Deep SVDD network (``svdd``)
with its preprocessing and its *error scale*, so scores are comparable across features and
organizations:

* ``ae``: per-feature squared reconstruction error divided by that feature's mean error on
  benign training rows (floored), averaged over features. A benign row scores about 1; no single
  heavy feature dominates, and the same per-feature terms say which features made a row
  anomalous.
* ``svdd``: squared distance to the centre divided by the mean benign distance.

Thresholds are per organization (calibrated on its own benign validation rows at a target
false-positive rate) plus an optional global one under ``"*"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn

from fedsec.features.preprocess import Preprocessor
from fedsec.models.autoencoder import AutoencoderSpec, build_autoencoder
from fedsec.models.svdd import SVDDSpec, build_svdd, center_from_sums, embedding_sum
from fedsec.training.local import TrainingPlan, local_update, predict_logits
from fedsec.training.params import Params, get_params, set_params

GLOBAL = "*"
KINDS: tuple[str, ...] = ("ae", "svdd")


class Detector(Protocol):
    """What every anomaly model offers (scikit-learn / PyOD style)."""

    view: str
    thresholds: dict[str, float]

    def fit(self, frame: pd.DataFrame) -> Detector: ...

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray: ...

    def predict(self, frame: pd.DataFrame, org: str | None = None) -> np.ndarray: ...

    @property
    def threshold_(self) -> dict[str, float]: ...


def build_network(spec: AutoencoderSpec | SVDDSpec, generator: torch.Generator | None = None):
    if isinstance(spec, AutoencoderSpec):
        return build_autoencoder(spec, generator)
    return build_svdd(spec, generator)


def raw_errors(
    network: nn.Module, x: np.ndarray, center: Sequence[float] | None, chunk: int = 8192
) -> np.ndarray:
    """Unscaled per-feature squared reconstruction errors (``ae``, shape n×d) or squared
    distances to the centre (``svdd``, shape n×1)."""
    out = predict_logits(network, x, chunk)
    if center is None:
        return (out - x) ** 2
    return ((out - np.asarray(center, dtype=np.float32)) ** 2).sum(axis=1, keepdims=True)


def error_sums(
    network: nn.Module, x: np.ndarray, center: Sequence[float] | None
) -> tuple[np.ndarray, int]:
    """What one organization shares to fix the error scale: per-column error sums and a count."""
    return raw_errors(network, x, center).astype(np.float64).sum(axis=0), len(x)


def scale_from_sums(parts: list[tuple[np.ndarray, int]], floor: float) -> np.ndarray:
    """Mean benign error per column, floored at ``floor`` × the mean over columns (a feature
    that is constant on benign data would otherwise turn noise into huge scores)."""
    total = sum(n for _, n in parts)
    if total == 0:
        raise ValueError("the error scale needs at least one benign row")
    mean = sum(s for s, _ in parts) / total
    return np.maximum(mean, max(floor * float(mean.mean()), 1e-12)).astype(np.float32)


class ScoredByThreshold:
    """The Detector interface from ``score_matrix`` (on preprocessed rows) and ``thresholds``
    (per organization, and ``GLOBAL``)."""

    preprocessor: Preprocessor
    thresholds: dict[str, float]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        return self.preprocessor.transform(frame)

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        """Anomaly score per row (higher = more anomalous)."""
        return self.score_matrix(self.encode(frame))

    def threshold_for(self, org: str | None) -> float | None:
        if org is not None and org in self.thresholds:
            return self.thresholds[org]
        return self.thresholds.get(GLOBAL)

    def predict(self, frame: pd.DataFrame, org: str | None = None) -> np.ndarray:
        """1 where the score exceeds ``org``'s threshold (else the global one), 0 elsewhere."""
        return flag(self.decision_function(frame), self.threshold_for(org))

    @property
    def threshold_(self) -> dict[str, float]:
        return dict(self.thresholds)


@dataclass
class AnomalyDetector(ScoredByThreshold):
    """A trained one-class network with its preprocessing, error scale and thresholds."""

    spec: AutoencoderSpec | SVDDSpec
    params: Params
    preprocessor: Preprocessor
    view: str
    scale: np.ndarray
    center: tuple[float, ...] | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    _module: nn.Module | None = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return "ae" if isinstance(self.spec, AutoencoderSpec) else "svdd"

    def module(self) -> nn.Module:
        if self._module is None:
            self._module = build_network(self.spec, torch.Generator().manual_seed(0))
            set_params(self._module, self.params)
            self._module.eval()
        return self._module

    def errors_from_matrix(self, x: np.ndarray) -> np.ndarray:
        """Scaled errors: per feature (``ae``) or one column (``svdd``)."""
        return raw_errors(self.module(), x, self.center) / self.scale

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """Mean scaled error per row (benign training rows average ~1)."""
        return self.errors_from_matrix(x).mean(axis=1).astype(np.float64)

    def fit(
        self,
        frame: pd.DataFrame,
        plan: TrainingPlan | None = None,
        rounds: int = 1,
        floor: float = 0.05,
    ) -> AnomalyDetector:
        """Train on one party's benign rows (``rounds`` updates of ``plan``, by default one
        Adam epoch, from the current parameters; the Deep SVDD centre from these rows when
        unset), then fix the error scale. Thresholds are cleared: calibrate them afterwards."""
        plan = plan or TrainingPlan(epochs=1, lr=1e-3, optimizer="adam")
        x = self.encode(frame)
        network = self.module()
        if self.kind == "svdd" and self.center is None:
            self.center = center_from_sums([embedding_sum(network, x)])
        self.params = train_rounds(
            network,
            self.params,
            x,
            lambda r: replace(plan, seed=plan.seed + r),
            rounds,
            self.center,
        )
        self.scale = scale_from_sums([error_sums(network, x, self.center)], floor)
        self.thresholds = {}
        return self

    def contributions(self, x: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Share of each input column in each row's score (``ae`` only): one-hot buckets and
        missing flags are summed into the column they encode."""
        if self.kind != "ae":
            raise ValueError("feature contributions need a reconstruction model (ae)")
        columns, groups = column_groups(self.preprocessor)
        errors = self.errors_from_matrix(x)
        per_column = np.stack([errors[:, g].sum(axis=1) for g in groups], axis=1)
        total = per_column.sum(axis=1, keepdims=True)
        return columns, per_column / np.where(total > 0, total, 1.0)


def objective_plan(plan: TrainingPlan, center: Sequence[float] | None) -> TrainingPlan:
    """The plan with the one-class objective: reconstruction, or Deep SVDD around ``center``."""
    if center is None:
        return replace(plan, objective="reconstruction", center=None)
    return replace(plan, objective="svdd", center=tuple(center))


def train_rounds(
    network: nn.Module,
    params: Params,
    x: np.ndarray,
    plan: Callable[[int], TrainingPlan],
    rounds: int,
    center: Sequence[float] | None,
    on_round: Callable[[int, float], None] | None = None,
) -> Params:
    """One party training alone: ``rounds`` local updates (round r follows ``plan(r)``).
    Leaves ``network`` holding the returned parameters."""
    zeros = np.zeros(len(x), dtype=np.int64)
    for round_ in range(1, rounds + 1):
        update = local_update(network, params, x, zeros, objective_plan(plan(round_), center))
        params = update.params
        if on_round is not None:
            on_round(round_, update.metrics["loss"])
    set_params(network, params)
    return params


def new_detector(
    kind: str,
    preprocessor: Preprocessor,
    view: str,
    hidden: Sequence[int],
    size: int,
    generator: torch.Generator,
) -> AnomalyDetector:
    """An untrained detector: ``size`` is the autoencoder's code or the SVDD embedding."""
    if kind == "ae":
        spec: AutoencoderSpec | SVDDSpec = AutoencoderSpec(preprocessor.width, tuple(hidden), size)
    elif kind == "svdd":
        spec = SVDDSpec(preprocessor.width, tuple(hidden), size)
    else:
        raise ValueError(f"unknown anomaly model {kind!r}; expected one of {KINDS}")
    network = build_network(spec, generator)
    scale = np.ones(preprocessor.width if kind == "ae" else 1, dtype=np.float32)
    return AnomalyDetector(spec, get_params(network), preprocessor, view, scale, _module=network)


def flag(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    if threshold is None:
        raise ValueError("no threshold: calibrate one or pass it explicitly")
    return (np.asarray(scores) > threshold).astype(np.int64)


def column_groups(pre: Preprocessor) -> tuple[list[str], list[np.ndarray]]:
    """Input columns and, for each, the indices of the encoded features derived from it."""
    hashed = {f"{c}#{b}": c for c in pre.categorical for b in range(pre.hash_buckets)}
    owner = [hashed.get(name, name.removesuffix("__missing")) for name in pre.names]
    columns = list(dict.fromkeys(owner))
    index = {c: i for i, c in enumerate(columns)}
    codes = np.asarray([index[o] for o in owner])
    return columns, [np.flatnonzero(codes == i) for i in range(len(columns))]


def federated_threshold(parts: Sequence[np.ndarray], target_fpr: float, steps: int = 80) -> float:
    """One threshold for every organization at ``target_fpr`` of their pooled benign scores,
    found by bisection on counts: the coordinator proposes a value, each organization answers
    how many of its scores exceed it. Only minima, maxima and counts leave an organization."""
    parts = [np.asarray(p, dtype=np.float64) for p in parts if len(p)]
    if not parts:
        raise ValueError("cannot calibrate a threshold without benign validation rows")
    total = sum(len(p) for p in parts)
    allowed = int(np.floor(target_fpr * total + 1e-9))
    lo, hi = min(float(p.min()) for p in parts), max(float(p.max()) for p in parts)
    if sum(int((p > lo).sum()) for p in parts) <= allowed:
        return lo
    for _ in range(steps):  # invariant: count(> lo) > allowed >= count(> hi)
        mid = lo + (hi - lo) / 2
        if mid in (lo, hi):
            break
        if sum(int((p > mid).sum()) for p in parts) > allowed:
            lo = mid
        else:
            hi = mid
    return hi

"""One-class detectors: the shared base of the autoencoder and Deep SVDD, their error scale,
thresholds and the pieces a federation computes from per-organization sums.

:class:`AnomalyDetector` is a one-class network with its preprocessing and its *error scale*,
so scores are comparable across features and organizations:

* autoencoder (:class:`~fedsec.models.autoencoder.AutoencoderDetector`): per-feature squared
  reconstruction error divided by that feature's mean error on benign training rows (floored),
  averaged over features. A benign row scores about 1; no single heavy feature dominates, and
  the same per-feature terms say which features made a row anomalous.
* Deep SVDD (:class:`~fedsec.models.svdd.DeepSVDDDetector`): squared distance to the centre
  divided by the mean benign distance.

Thresholds are per organization (calibrated on its own benign validation rows at a target
false-positive rate) plus an optional global one under ``"*"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from fedsec.features.preprocess import Preprocessor
from fedsec.models.network import NetworkDetector
from fedsec.models.one_class import OneClassScorer
from fedsec.training.local import local_update
from fedsec.training.params import set_params
from fedsec.training.plan import TrainingPlan


class AnomalyDetector(NetworkDetector, OneClassScorer):
    """A one-class network trained on benign rows: hyperparameters ``spec`` (architecture),
    ``preprocessor``, ``view``, and for :meth:`fit` the local ``plan``, ``rounds``,
    ``error_floor`` and ``seed``. Learned: ``params_``, ``scale_``, ``thresholds_`` (Deep SVDD:
    ``center_``).

    A federation trains it round by round through its weights with :meth:`objective` plans,
    then fixes the scale from every party's :meth:`error_sums` (:meth:`set_scale`)."""

    kind: ClassVar[str]
    plan: TrainingPlan | None
    rounds: int
    error_floor: float
    scale_: np.ndarray

    def __init__(
        self,
        spec: Any,
        preprocessor: Preprocessor,
        view: str,
        plan: TrainingPlan | None = None,
        rounds: int = 1,
        error_floor: float = 0.05,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.preprocessor = preprocessor
        self.view = view
        self.plan = plan
        self.rounds = rounds
        self.error_floor = error_floor
        self.seed = seed

    @classmethod
    def make_spec(
        cls, inputs: int, hidden: tuple[int, ...], size: int, *, shared: bool = True
    ) -> Any:
        """The architecture for ``inputs`` features, ``hidden`` widths and a ``size``-wide
        code (autoencoder) or embedding (Deep SVDD); ``shared`` is false for one
        organization's local model."""
        raise NotImplementedError

    def objective(self, plan: TrainingPlan) -> TrainingPlan:
        """``plan`` with this model's one-class objective."""
        raise NotImplementedError

    def prepare(self, xs: Sequence[np.ndarray]) -> Self:
        """Fix what training needs before its first round, from every party's benign rows
        (nothing by default)."""
        return self

    def error_sums(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """What one organization shares to fix the error scale: per-column sums and a count."""
        return self.raw_errors(x).astype(np.float64).sum(axis=0), len(x)

    def set_scale(self, parts: list[tuple[np.ndarray, int]]) -> Self:
        """The error scale from every party's :meth:`error_sums`."""
        self.scale_ = scale_from_sums(parts, self.error_floor)
        return self

    def fit(self, X: pd.DataFrame, y: None = None) -> Self:
        """Train on one party's benign rows (``rounds`` updates of ``plan``, by default one
        Adam epoch, from the current weights), then fix the error scale. Thresholds are
        cleared: calibrate them afterwards."""
        plan = self.plan or TrainingPlan(epochs=1, lr=1e-3, optimizer="adam")
        x = self.encode(X)
        params = self.weights_to_fit()
        self.prepare([x])
        network, zeros = self.module(), np.zeros(len(x), dtype=np.int64)
        for round_ in range(1, self.rounds + 1):
            round_plan = self.objective(replace(plan, seed=plan.seed + round_))
            params = local_update(network, params, x, zeros, round_plan).params
        set_params(network, params)
        self.set_weights(params).set_scale([self.error_sums(x)])
        self.thresholds_ = {}
        return self


def scale_from_sums(parts: list[tuple[np.ndarray, int]], floor: float) -> np.ndarray:
    """Mean benign error per column, floored at ``floor`` × the mean over columns (a feature
    that is constant on benign data would otherwise turn noise into huge scores)."""
    total = sum(n for _, n in parts)
    if total == 0:
        raise ValueError("the error scale needs at least one benign row")
    mean = sum(s for s, _ in parts) / total
    return np.maximum(mean, max(floor * float(mean.mean()), 1e-12)).astype(np.float32)


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

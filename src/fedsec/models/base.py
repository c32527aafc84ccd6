"""The shared shape of every fedsec detector, after scikit-learn's and PyOD's estimators.

* Hyperparameters are the constructor's arguments, stored unchanged under the same names;
  ``get_params`` / ``set_params`` read and write them as scikit-learn's ``BaseEstimator``
  does, so its ``clone`` works too (written here so that loading a model does not import
  scikit-learn and SciPy). Nothing is learned in ``__init__``.
* ``fit`` learns from one party's data and returns ``self``. What it learned lives in
  attributes ending in ``_`` (``params_``, ``thresholds_``, ``scale_`` ...).
* ``decision_function`` scores inputs (higher = more anomalous, or more likely malicious);
  ``predict`` applies an organization's operating point (its calibrated threshold, else the
  global one under :data:`GLOBAL`).

Federated training does not call ``fit``: the round loop drives a network detector through its
*weights*, the ordered list of arrays that travels between parties
(``get_weights`` / ``set_weights`` of :class:`fedsec.models.network.NetworkDetector`).
scikit-learn's ``get_params`` / ``set_params`` are the hyperparameters, never the weights.
Nothing here imports torch: scoring a loaded classifier does not need it.
"""

from __future__ import annotations

import inspect
from typing import Any, Self

import numpy as np

#: The key of the threshold that applies to organizations without their own.
GLOBAL = "*"


class Detector:
    """``fit`` → ``self``, ``decision_function``, ``predict`` at a per-organization threshold.

    ``thresholds_`` maps an organization (or :data:`GLOBAL`) to its threshold: empty until
    calibration fills it (``fit`` empties it again)."""

    @classmethod
    def param_names(cls) -> list[str]:
        """The hyperparameters' names: the constructor's arguments, sorted."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return sorted(p.name for p in parameters if p.name != "self" and p.kind in named)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters as stored (``deep``: as scikit-learn's; no hyperparameter of a
        fedsec detector is itself an estimator)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Replace hyperparameters by name; an unknown name is an error naming the known ones."""
        known = self.param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"invalid parameters {unknown} for {type(self).__name__}: {known}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    @property
    def thresholds_(self) -> dict[str, float]:
        if "_thresholds" not in self.__dict__:
            self._thresholds: dict[str, float] = {}
        return self._thresholds

    @thresholds_.setter
    def thresholds_(self, thresholds: dict[str, float]) -> None:
        self._thresholds = dict(thresholds)

    def fit(self, X: Any, y: Any = None) -> Self:
        raise NotImplementedError

    def decision_function(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def threshold_for(self, org: str | None) -> float | None:
        """``org``'s own threshold, else the global one (None: no threshold calibrated)."""
        if org is not None and org in self.thresholds_:
            return self.thresholds_[org]
        return self.thresholds_.get(GLOBAL)

    def predict(self, X: Any, org: str | None = None) -> np.ndarray:
        """1 where the score exceeds ``org``'s threshold (else the global one), 0 elsewhere."""
        return flag(self.decision_function(X), self.threshold_for(org))


class ArrayWeights:
    """A scorer's learned weights as numpy arrays, in its network's order (``params_``), read
    and replaced as a network detector's are."""

    params_: list[np.ndarray]

    def get_weights(self) -> list[np.ndarray]:
        return self.params_

    def set_weights(self, params: list[np.ndarray]) -> Self:
        self.params_ = params
        return self


def flag(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    if threshold is None:
        raise ValueError("no threshold: calibrate one or pass it explicitly")
    return (np.asarray(scores) > threshold).astype(np.int64)


def calibrate_threshold(benign_scores: np.ndarray, target_fpr: float) -> float:
    """Smallest threshold with at most ``target_fpr`` of benign scores strictly above it."""
    if len(benign_scores) == 0:
        raise ValueError("cannot calibrate a threshold without benign validation rows")
    return float(np.quantile(benign_scores, 1.0 - target_fpr, method="higher"))

"""Gradient-boosted trees (XGBoost) as an attack-family classifier.

The decision rule is :class:`~fedsec.models.family.FamilyScorer`'s (malicious score
``1 - P(benign)``, per-organization thresholds at a target false-positive rate, else arg-max);
only the probabilities come from a boosted tree ensemble over the same preprocessed rows.
The model travels and is stored as XGBoost's UBJSON, never pickled.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import benign_index
from fedsec.features.preprocess import Preprocessor
from fedsec.models.family import FamilyScorer
from fedsec.models.tree_structure import check_booster_trees, check_ubj


def booster_params(classes: int, depth: int, eta: float, max_bin: int, seed: int) -> dict[str, Any]:
    """XGBoost's training parameters: histogram trees, one probability per family."""
    return {
        "tree_method": "hist",
        "objective": "multi:softprob",
        "num_class": classes,
        "max_depth": depth,
        "eta": eta,
        "max_bin": max_bin,
        "seed": seed,
        "nthread": 1,
        "eval_metric": "mlogloss",
    }


def weight_step(total: float, rows: int) -> float | None:
    """The grid on which every sample weight is placed for ``rows`` rows of ``total`` sample
    weight: ``2**-k``, ``k`` the largest for which twice the total weight is below
    ``2**(24 - k)``, so that every rank XGBoost's quantile sketch sums in float32 is exact
    (:func:`~fedsec.tasks.classification.trees.exact_weights`); None when too many rows for a
    grid at or below 1."""
    k = next((k for k in range(23, -1, -1) if _sums_exact(total, rows, k)), None)
    return None if k is None else 2.0**-k


def on_grid(weights: np.ndarray, step: float | None) -> np.ndarray:
    """``weights`` rounded to multiples of ``step`` (never to zero); as they are if None."""
    if step is None:
        return weights
    return np.maximum(np.round(np.asarray(weights) / step), 1) * step


def intercept_of(weighted: np.ndarray) -> list[float]:
    """The starting score of a booster from each family's weighted row count (what a
    deployment's coordinator knows from the sites' statistics): the log of each family's
    weighted share, centered (:func:`~fedsec.tasks.classification.trees.intercept`)."""
    log_share = np.log(np.maximum(weighted / weighted.sum(), np.finfo(np.float32).tiny))
    return [float(v) for v in log_share - log_share.mean()]


def _sums_exact(total: float, rows: int, k: int) -> bool:
    """Twice the total weight after rounding (each weight moves by at most half a step) stays
    below ``2**(24 - k)``: float32 holds every multiple of ``2**-k`` up to there exactly."""
    return 2 * (total + rows * 2.0 ** -(k + 1)) < 2.0 ** (24 - k)


class TreeClassifier(FamilyScorer):
    """A boosted tree ensemble over preprocessed flow rows, one probability per family of
    ``classes``. Learned: ``model_`` (the booster as UBJSON bytes) and ``thresholds_``."""

    def __init__(
        self,
        preprocessor: Preprocessor,
        classes: list[str],
        view: str,
        decision: str = "argmax",
    ) -> None:
        super().__init__(None, preprocessor, classes, view, decision)
        self._booster = None

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Self:
        raise NotImplementedError("trees are trained by the classification task's tree arms")

    def set_model(self, model: bytes) -> Self:
        """Adopt a trained booster (UBJSON bytes); thresholds are cleared."""
        self.model_ = bytes(model)
        self._booster = None
        self.thresholds_ = {}
        return self

    def booster(self):
        """The XGBoost booster holding ``model_`` (loaded once, on first use, and only once
        every tree passes :func:`~fedsec.models.tree_structure.check_booster_trees`: a
        malformed tree is a :class:`~fedsec.models.tree_structure.MalformedBooster`, never a
        prediction that reads out of bounds)."""
        if self._booster is None:
            import xgboost as xgb

            check_ubj(self.model_)
            booster = xgb.Booster(params={"nthread": 1})
            booster.load_model(bytearray(self.model_))
            check_booster_trees(booster)
            self._booster = booster
        return self._booster

    def proba_from_matrix(self, x: np.ndarray, trees: int | None = None) -> np.ndarray:
        """Family probabilities per row (``trees``: only the first boosting rounds)."""
        import xgboost as xgb

        span = (0, 0) if trees is None else (0, trees)
        proba = self.booster().predict(xgb.DMatrix(x), iteration_range=span)
        return np.asarray(proba, dtype=np.float64).reshape(len(x), len(self.classes))

    def decided(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The probabilities per row, of the rows as given (no second look for trees)."""
        return self.proba_from_matrix(x), x

    def contributions(self, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per row of ``x``, XGBoost's exact TreeSHAP contribution of each preprocessed column
        to class ``targets[row]``'s margin minus benign's (the log-odds against benign, as a
        network explains it), or to its margin alone when the model has no benign class."""
        import xgboost as xgb

        shap = self.booster().predict(xgb.DMatrix(x), pred_contribs=True)
        shap = np.asarray(shap).reshape(len(x), len(self.classes), x.shape[1] + 1)
        found = shap[np.arange(len(x)), targets, :-1]
        benign = benign_index(self.classes)
        return found if benign < 0 else found - shap[:, benign, :-1]

    def get_weights(self):
        raise TypeError("a tree model has no weights to average; it travels as a booster")

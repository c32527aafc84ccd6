"""scikit-learn IsolationForest behind the Detector interface: the classical baseline.

Trained per organization on its benign rows (local) or on the pooled benign rows (centralized).
There is no federated IsolationForest here: trees are grown from raw rows, so a forest cannot be
averaged the way network weights are. Never bundled (bundles hold no pickles).
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from fedsec.features.preprocess import Preprocessor
from fedsec.models.one_class import ScoredByThreshold


class IsolationForestDetector(ScoredByThreshold):
    """Hyperparameters: ``preprocessor``, ``view``, ``trees``, ``samples`` (per tree, at most
    the training rows) and ``seed``. Learned: ``forest_`` and ``thresholds_``."""

    def __init__(
        self,
        preprocessor: Preprocessor,
        view: str,
        trees: int = 100,
        samples: int = 256,
        seed: int = 0,
    ) -> None:
        self.preprocessor = preprocessor
        self.view = view
        self.trees = trees
        self.samples = samples
        self.seed = seed

    def fit_matrix(self, x: np.ndarray) -> Self:
        if len(x) == 0:
            raise ValueError("IsolationForest needs at least one benign training row")
        self.forest_ = IsolationForest(
            n_estimators=self.trees,
            max_samples=min(self.samples, len(x)),
            random_state=self.seed % 2**32,
            n_jobs=1,
        ).fit(x)
        self.thresholds_ = {}
        return self

    def fit(self, X: pd.DataFrame, y: None = None) -> Self:
        return self.fit_matrix(self.encode(X))

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """Anomaly score ``2^(-mean path length / c(n))`` (higher = more anomalous)."""
        forest = getattr(self, "forest_", None)
        if forest is None:
            raise ValueError("IsolationForest is not fitted")
        return -forest.score_samples(x).astype(np.float64)

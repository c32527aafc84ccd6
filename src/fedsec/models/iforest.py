"""scikit-learn IsolationForest behind the Detector interface: the classical baseline.

Trained per organization on its benign rows (local) or on the pooled benign rows (centralized).
There is no federated IsolationForest here: trees are grown from raw rows, so a forest cannot be
averaged the way network weights are. Never bundled (bundles hold no pickles).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from fedsec.features.preprocess import Preprocessor
from fedsec.models.anomaly import ScoredByThreshold


@dataclass
class IsolationForestDetector(ScoredByThreshold):
    preprocessor: Preprocessor
    view: str
    trees: int = 100
    samples: int = 256
    seed: int = 0
    thresholds: dict[str, float] = field(default_factory=dict)
    forest: IsolationForest | None = field(default=None, repr=False, compare=False)

    def fit_matrix(self, x: np.ndarray) -> IsolationForestDetector:
        if len(x) == 0:
            raise ValueError("IsolationForest needs at least one benign training row")
        self.forest = IsolationForest(
            n_estimators=self.trees,
            max_samples=min(self.samples, len(x)),
            random_state=self.seed % 2**32,
            n_jobs=1,
        ).fit(x)
        self.thresholds = {}
        return self

    def fit(self, frame: pd.DataFrame) -> IsolationForestDetector:
        return self.fit_matrix(self.preprocessor.transform(frame))

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """Anomaly score ``2^(-mean path length / c(n))`` (higher = more anomalous)."""
        if self.forest is None:
            raise ValueError("IsolationForest is not fitted")
        return -self.forest.score_samples(x).astype(np.float64)

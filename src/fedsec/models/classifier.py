"""The supervised attack-family classifier behind the Detector interface.

``decision_function`` is the malicious score ``1 - P(benign)``; ``predict`` returns family names,
either by arg-max or, with a threshold (per organization, calibrated on its benign validation
data at a target false-positive rate), "benign unless the score exceeds the threshold, then the
most likely attack family".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from fedsec.data.taxonomy import BENIGN
from fedsec.features.preprocess import Preprocessor
from fedsec.models.mlp import MLP, MLPSpec, build_mlp
from fedsec.training.local import predict_logits
from fedsec.training.params import Params, set_params


@dataclass
class FamilyClassifier:
    spec: MLPSpec
    params: Params
    preprocessor: Preprocessor
    classes: list[str]
    view: str
    thresholds: dict[str, float] = field(default_factory=dict)
    decision: str = "argmax"
    _module: MLP | None = field(default=None, repr=False, compare=False)

    def module(self) -> MLP:
        if self._module is None:
            self._module = build_mlp(self.spec, torch.Generator().manual_seed(0))
            set_params(self._module, self.params)
            self._module.eval()
        return self._module

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        return self.preprocessor.transform(frame)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.proba_from_matrix(self.encode(frame))

    def proba_from_matrix(self, x: np.ndarray) -> np.ndarray:
        logits = predict_logits(self.module(), x)
        return torch.softmax(torch.from_numpy(logits), dim=1).numpy()

    def malicious_score(self, proba: np.ndarray) -> np.ndarray:
        """1 - P(benign); 1 everywhere when the model never learned benign."""
        if BENIGN not in self.classes:
            return np.ones(len(proba))
        return 1.0 - proba[:, self.classes.index(BENIGN)]

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        return self.malicious_score(self.predict_proba(frame))

    def threshold_for(self, org: str | None) -> float | None:
        """The operating threshold for ``org`` (None: arg-max decision)."""
        if self.decision != "fpr":
            return None
        if org is not None and org in self.thresholds:
            return self.thresholds[org]
        return self.thresholds.get("*")

    def labels_from_proba(self, proba: np.ndarray, threshold: float | None) -> np.ndarray:
        """Family per row by arg-max, or by the malicious-score threshold when one is given."""
        classes = np.asarray(self.classes, dtype=object)
        if threshold is None or BENIGN not in self.classes:
            return classes[proba.argmax(axis=1)]
        attack = proba.copy()
        attack[:, self.classes.index(BENIGN)] = -1.0
        flagged = self.malicious_score(proba) > threshold
        return np.where(flagged, classes[attack.argmax(axis=1)], BENIGN).astype(object)

    def predict(self, frame: pd.DataFrame, org: str | None = None) -> np.ndarray:
        return self.labels_from_proba(self.predict_proba(frame), self.threshold_for(org))

    @property
    def threshold_(self) -> dict[str, float]:
        return dict(self.thresholds)


def calibrate_threshold(benign_scores: np.ndarray, target_fpr: float) -> float:
    """Smallest threshold with at most ``target_fpr`` of benign scores strictly above it."""
    if len(benign_scores) == 0:
        raise ValueError("cannot calibrate a threshold without benign validation rows")
    return float(np.quantile(benign_scores, 1.0 - target_fpr, method="higher"))

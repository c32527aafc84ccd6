"""The supervised attack-family classifier behind the Detector interface.

``decision_function`` is the malicious score ``1 - P(benign)``; ``predict`` returns family names,
either by arg-max or, with a threshold (per organization, calibrated on its benign validation
data at a target false-positive rate), "benign unless the score exceeds the threshold, then the
most likely attack family".
"""

from __future__ import annotations

from dataclasses import replace
from typing import Self

import numpy as np
import pandas as pd
import torch

from fedsec.data.taxonomy import BENIGN
from fedsec.features.preprocess import Preprocessor
from fedsec.models.base import Detector, NetworkDetector
from fedsec.models.mlp import MLP, MLPSpec, build_mlp
from fedsec.training.local import TrainingPlan, local_update, predict_logits


class FamilyClassifier(NetworkDetector, Detector):
    """An MLP over preprocessed flow rows, one output per family of ``classes``.

    Hyperparameters: ``spec`` (architecture), ``preprocessor``, ``classes`` (the label set the
    network's outputs stand for), ``view``, ``decision`` (``"argmax"``, or ``"fpr"``: use the
    calibrated thresholds) and, for :meth:`fit`, the local ``plan``, ``rounds`` and ``seed``.
    Learned: ``params_`` and ``thresholds_`` (malicious-score thresholds per organization)."""

    def __init__(
        self,
        spec: MLPSpec,
        preprocessor: Preprocessor,
        classes: list[str],
        view: str,
        decision: str = "argmax",
        plan: TrainingPlan | None = None,
        rounds: int = 1,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.preprocessor = preprocessor
        self.classes = classes
        self.view = view
        self.decision = decision
        self.plan = plan
        self.rounds = rounds
        self.seed = seed

    def build(self, generator: torch.Generator | None = None) -> MLP:
        return build_mlp(self.spec, generator)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Self:
        """Train on one party's rows and family labels (``rounds`` updates of ``plan``, by
        default one SGD epoch, from the current weights). Thresholds are cleared."""
        plan = self.plan or TrainingPlan()
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted(set(np.asarray(y, dtype=object)) - set(index))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the classes {self.classes}")
        x, targets = self.encode(X), np.asarray([index[f] for f in y], dtype=np.int64)
        params = self.weights_to_fit()
        for round_ in range(1, self.rounds + 1):
            round_plan = replace(plan, seed=plan.seed + round_)
            params = local_update(self.module(), params, x, targets, round_plan).params
        self.set_weights(params).module().eval()
        self.thresholds_ = {}
        return self

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

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The malicious score ``1 - P(benign)`` per row."""
        return self.malicious_score(self.predict_proba(X))

    def threshold_for(self, org: str | None) -> float | None:
        """The operating threshold for ``org`` (None: arg-max decision)."""
        if self.decision != "fpr":
            return None
        return super().threshold_for(org)

    def labels_from_proba(self, proba: np.ndarray, threshold: float | None) -> np.ndarray:
        """Family per row by arg-max, or by the malicious-score threshold when one is given."""
        classes = np.asarray(self.classes, dtype=object)
        if threshold is None or BENIGN not in self.classes:
            return classes[proba.argmax(axis=1)]
        attack = proba.copy()
        attack[:, self.classes.index(BENIGN)] = -1.0
        flagged = self.malicious_score(proba) > threshold
        return np.where(flagged, classes[attack.argmax(axis=1)], BENIGN).astype(object)

    def predict(self, X: pd.DataFrame, org: str | None = None) -> np.ndarray:
        return self.labels_from_proba(self.predict_proba(X), self.threshold_for(org))


def calibrate_threshold(benign_scores: np.ndarray, target_fpr: float) -> float:
    """Smallest threshold with at most ``target_fpr`` of benign scores strictly above it."""
    if len(benign_scores) == 0:
        raise ValueError("cannot calibrate a threshold without benign validation rows")
    return float(np.quantile(benign_scores, 1.0 - target_fpr, method="higher"))

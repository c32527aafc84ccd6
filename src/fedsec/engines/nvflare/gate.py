"""A site's judgement of a global model, on its own held-out rows only.

:func:`score_model` calibrates the malicious-score threshold on the site's benign validation
rows at a target false-positive rate and measures detection there; :class:`AcceptanceGate`
refuses or flags a global model whose validation detection falls more than ``max_drop`` below
the best global model this site has seen. Only these few numbers ever leave the site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.engines.nvflare.site_config import GateConfig
from fedsec.models.classifier import FamilyClassifier, calibrate_threshold


def score_model(
    model: FamilyClassifier,
    calibration: pd.DataFrame,
    calibration_y: np.ndarray,
    judged: pd.DataFrame,
    judged_y: np.ndarray,
    target_fpr: float,
) -> dict[str, float | None]:
    """Threshold from the benign rows of ``calibration``; detection measured on ``judged``."""
    benign = calibration_y == BENIGN
    threshold = None
    if benign.any() and BENIGN in model.classes:
        scores = model.decision_function(calibration.loc[benign])
        threshold = float(calibrate_threshold(scores, target_fpr))
    proba = model.predict_proba(judged)
    predicted = model.labels_from_proba(proba, threshold)
    attack = judged_y != BENIGN
    flagged = predicted != BENIGN
    labels = family_order(judged_y)
    return {
        "threshold": threshold,
        "detection_rate": float(flagged[attack].mean()) if attack.any() else None,
        "benign_fpr": float(flagged[~attack].mean()) if (~attack).any() else None,
        "macro_f1": float(
            f1_score(judged_y, predicted, labels=labels, average="macro", zero_division=0)
        )
        if len(judged_y)
        else None,
        "rows": len(judged_y),
    }


@dataclass
class Verdict:
    accepted: bool
    flagged: bool
    score: float | None
    reference: float | None
    reason: str = ""

    def to_json(self) -> dict:
        return {
            "accepted": self.accepted,
            "flagged": self.flagged,
            "score": self.score,
            "reference": self.reference,
            "reason": self.reason,
        }


@dataclass
class AcceptanceGate:
    """Compares each global model with the best one this site has seen so far."""

    config: GateConfig
    best: float | None = None
    history: list[tuple[int, float | None]] = field(default_factory=list)

    def judge(self, round_: int, metrics: dict[str, float | None]) -> Verdict:
        score = metrics.get(self.config.metric)
        self.history.append((round_, score))
        reference = self.best
        if score is None:
            return Verdict(True, False, None, reference, f"no rows to measure {self.config.metric}")
        if reference is not None and round_ > self.config.warmup_rounds:
            fall = reference - score
            if fall > self.config.max_drop:
                reason = (
                    f"validation {self.config.metric} fell from {reference:.4f} to {score:.4f} "
                    f"(more than the bound {self.config.max_drop})"
                )
                return Verdict(self.config.action != "refuse", True, score, reference, reason)
        self.best = score if reference is None else max(reference, score)
        return Verdict(True, False, score, reference)

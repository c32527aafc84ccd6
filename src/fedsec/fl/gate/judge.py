"""A site's judgement of a global model, on its own validation rows only.

:func:`validation_labels` predicts the site's validation rows at the threshold its benign
validation rows calibrate (target false-positive rate); :class:`AcceptanceGate` compares those
predictions with the best model this site accepted so far and refuses (or flags) a model only
when the fall is beyond the noise of the validation set (:mod:`fedsec.fl.gate.bound`). Only the
verdict and a few numbers ever leave the site. The final model of a job is judged once more by
:meth:`AcceptanceGate.judge_final`, never as a warm-up round.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from fedsec.core import seeding
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.fl.gate.bound import metric_value, paired_fall
from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.families import family_detection
from fedsec.models.base import calibrate_threshold
from fedsec.models.classifier import FamilyClassifier


def threshold_from(
    model: FamilyClassifier, frame: pd.DataFrame, y: np.ndarray, fpr: float
) -> float | None:
    """The malicious-score threshold at ``fpr`` on the benign rows (None: no benign rows)."""
    benign = np.asarray(y) == BENIGN
    if not benign.any() or BENIGN not in model.classes:
        return None
    return float(calibrate_threshold(model.decision_function(frame.loc[benign]), fpr))


def labels_at_fpr(
    model: FamilyClassifier, proba: np.ndarray, y: np.ndarray, target_fpr: float
) -> np.ndarray:
    """The family per row from ``proba``, at the threshold that keeps the rows' benign
    false-positive rate at ``target_fpr`` (arg-max when there are no benign rows)."""
    benign = np.asarray(y) == BENIGN
    threshold = None
    if benign.any() and BENIGN in model.classes:
        scores = model.malicious_score(proba[benign])
        threshold = float(calibrate_threshold(scores, target_fpr))
    return model.labels_from_proba(proba, threshold)


def validation_labels(
    model: FamilyClassifier, frame: pd.DataFrame, y: np.ndarray, target_fpr: float
) -> np.ndarray:
    """The model's family per validation row, at the threshold these rows calibrate."""
    return labels_at_fpr(model, model.predict_proba(frame), y, target_fpr)


def score_model(
    model: FamilyClassifier,
    calibration: pd.DataFrame,
    calibration_y: np.ndarray,
    judged: pd.DataFrame,
    judged_y: np.ndarray,
    target_fpr: float,
) -> dict[str, Any]:
    """Threshold from the benign rows of ``calibration``; detection measured on ``judged``,
    overall and per attack family (:func:`~fedsec.fl.gate.families.family_detection`).
    scikit-learn is imported here: NVFlare job processes load this module without always
    judging (:mod:`fedsec.reporting.metrics`)."""
    from sklearn.metrics import f1_score

    threshold = threshold_from(model, calibration, calibration_y, target_fpr)
    predicted = model.labels_from_proba(model.predict_proba(judged), threshold)
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
        "families": family_detection(judged_y, predicted),
    }


@dataclass
class Verdict:
    accepted: bool
    flagged: bool
    score: float | None
    reference: float | None
    reason: str = ""
    fall_bound: float | None = None  # lower confidence bound of the fall below the reference
    judged: bool | None = None  # a final model's verdict: judged against a reference or not
    families: dict[str, dict] | None = None  # a final model's per-family judgement, as signed

    def to_json(self) -> dict:
        judged = {} if self.judged is None else {"judged": self.judged}
        judged |= {} if self.families is None else {"families": self.families}
        return {
            "accepted": self.accepted,
            "flagged": self.flagged,
            "score": self.score,
            "reference": self.reference,
            "fall_bound": None if self.fall_bound is None else round(self.fall_bound, 6),
            "reason": self.reason,
        } | judged


@dataclass
class Reference:
    """The best model accepted so far, as this site's validation rows saw it."""

    truth: np.ndarray
    predicted: np.ndarray
    score: float

    def fits(self, truth: np.ndarray) -> bool:
        return len(truth) == len(self.truth) and bool((truth == self.truth).all())


@dataclass
class AcceptanceGate:
    """Compares each global model with the best one this site accepted, row by row.

    ``seed`` drives the bootstrap (the gate's verdicts repeat for the same seed)."""

    config: GateConfig
    seed: int = 0
    best: Reference | None = None
    history: list[tuple[int, float | None]] = field(default_factory=list)
    refused_in_a_row: int = 0
    measured: Reference | None = None  # the best model judged in any round, warm-up included

    def judge(self, round_: int, truth: np.ndarray, predicted: np.ndarray) -> Verdict:
        """The verdict on a model predicting ``predicted`` for validation rows ``truth``."""
        truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
        metric = self.config.metric
        score = metric_value(metric, truth, predicted)
        self.history.append((round_, score))
        if score is None:
            return Verdict(True, False, None, None, f"no rows to measure {metric}")
        self._measured(Reference(truth, predicted, score))
        if round_ <= self.config.warmup_rounds:  # early models neither judged nor a reference
            return Verdict(True, False, score, None, "warm-up round")
        best = self.best if self.best is not None and self.best.fits(truth) else None
        verdict = None if best is None else self._compare(round_, truth, best, predicted, score)
        if verdict is not None and not verdict.accepted:
            return self._refusal(verdict, Reference(truth, predicted, score))
        if verdict is not None:  # flagged, trained on; the reference stays
            return verdict
        self.refused_in_a_row = 0
        if best is None or score > best.score:
            self.best = Reference(truth, predicted, score)
        return Verdict(True, False, score, None if best is None else best.score)

    def judge_final(self, truth: np.ndarray, predicted: np.ndarray) -> Verdict:
        """The verdict on a job's final model: never a warm-up round. It is compared, by the
        usual confidence-bound rule, with the best model this gate measured in any round of the
        job (warm-up rounds included: a reference for this judgement only); without one (a
        site never sampled, or restarted mid-job), against chance (:meth:`against_chance`);
        without rows to measure, the verdict is unjudged (``judged`` False, not accepted)."""
        truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
        metric = self.config.metric
        score = metric_value(metric, truth, predicted)
        if score is None:
            reason = f"unjudged: no rows to measure {metric}"
            return Verdict(False, False, score, None, reason, judged=False)
        best = self.measured
        if best is None or not best.fits(truth):
            return self.against_chance(truth, predicted, score)
        verdict = self._compare("final", truth, best, predicted, score)
        if verdict is not None:
            return replace(verdict, judged=True)
        return Verdict(True, False, score, best.score, judged=True)

    def against_chance(self, truth: np.ndarray, predicted: np.ndarray, score: float) -> Verdict:
        """The final model's verdict where this gate measured no model of the job: judged
        against chance, a detection rate of this site's validation attacks above both its
        benign false-positive rate and ``target_fpr`` (what flagging at random at the target
        rate detects; the admin's rule on the test figures, here on the rows this site judges
        with). A model no better than chance is flagged, and refused only when ``action`` is
        refuse (as :meth:`_compare`). Unjudged without attack rows."""
        attack, flagged = truth != BENIGN, predicted != BENIGN
        if not attack.any():
            reason = "unjudged: no model measured before and no validation attacks to judge by"
            return Verdict(False, False, score, None, reason, judged=False)
        detection = float(flagged[attack].mean())
        fpr = float(flagged[~attack].mean()) if (~attack).any() else 0.0
        chance = max(fpr, self.config.target_fpr)
        if detection > chance:
            return Verdict(True, False, score, chance, "judged against chance", judged=True)
        reason = (
            f"no model measured before; the final model detects {detection:.1%} of the "
            f"validation attacks, no better than chance ({chance:.1%}: the benign "
            "false-positive rate or the target)"
        )
        accepted = self.config.action != "refuse"
        return Verdict(accepted, True, score, chance, reason, judged=True)

    def measure(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        """Note a model of an earlier round as a reference for :meth:`judge_final` only (a
        tree site's boosting rounds: the slices of its booster), with no verdict."""
        truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
        score = metric_value(self.config.metric, truth, predicted)
        if score is not None:
            self._measured(Reference(truth, predicted, score))

    def _measured(self, candidate: Reference) -> None:
        kept = self.measured
        if kept is None or not kept.fits(candidate.truth) or candidate.score > kept.score:
            self.measured = candidate

    def _refusal(self, verdict: Verdict, candidate: Reference) -> Verdict:
        """The refusal, until ``patience`` refusals in a row: then the model is accepted as
        the new reference (flagged). A site that refuses for ever never trains again, and
        the federation never learns its families back: a lock-out, not a protection."""
        if self.refused_in_a_row < self.config.patience:
            self.refused_in_a_row += 1
            return verdict
        self.refused_in_a_row, self.best = 0, candidate
        reason = (
            f"{verdict.reason}; accepted as the new reference after "
            f"{self.config.patience} refusals in a row"
        )
        return Verdict(True, True, verdict.score, verdict.reference, reason, verdict.fall_bound)

    def _compare(
        self,
        round_: int | str,
        truth: np.ndarray,
        best: Reference,
        predicted: np.ndarray,
        score: float,
    ) -> Verdict | None:
        """A refusal or flag when the fall is surely beyond ``max_drop``; None otherwise."""
        c = self.config
        rng = seeding.rng(self.seed, "gate", round_)
        fall = paired_fall(
            c.metric, truth, best.predicted, predicted, c.confidence, c.resamples, rng
        )
        if fall is None or fall.lower <= c.max_drop:
            return None
        reason = (
            f"validation {c.metric} fell from {best.score:.4f} to {score:.4f}: at "
            f"{c.confidence:.0%} confidence by more than {fall.lower:.4f}, beyond the tolerated "
            f"{c.max_drop} ({len(truth)} validation rows)"
        )
        return Verdict(c.action != "refuse", True, score, best.score, reason, fall.lower)

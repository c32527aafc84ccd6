"""Where an organization's operating point sits on its evaluation rows.

Its threshold is calibrated on its *own* benign validation rows, but it is judged on other
organizations' benign rows too. These metrics keep the two apart: benign false-positive rate on
own vs foreign rows (by the rows' origin organization), ROC-AUC of the malicious score for
unseen-family attacks vs every benign evaluation row, and unseen-family recall at a *matched*
operating point: the threshold at which the benign rows of the evaluation set itself are flagged
at the target rate, so arms compare at one false-positive rate (a comparison device: that
threshold reads the test rows, no deployment could set it)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.metrics import roc_auc_score

from fedsec.data.taxonomy import BENIGN
from fedsec.models.base import calibrate_threshold
from fedsec.reporting.metrics import pooled_rate


def _rate(flags: np.ndarray) -> float | None:
    return float(round(float(np.mean(flags)), 6)) if len(flags) else None


def origin_fpr(true: np.ndarray, flagged: np.ndarray, owner: np.ndarray, org_index: int) -> dict:
    """Benign rows flagged, split by origin: the organization's own rows and other ones'."""
    benign = np.asarray(true) == BENIGN
    own = benign & (np.asarray(owner) == org_index)
    foreign = benign & ~own
    flagged = np.asarray(flagged, dtype=bool)
    return {
        "own_benign_fpr": _rate(flagged[own]),
        "foreign_benign_fpr": _rate(flagged[foreign]),
        "own_benign_rows": int(own.sum()),
        "foreign_benign_rows": int(foreign.sum()),
    }


def _auc(kinds: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC-AUC of the malicious score: unseen-family attacks (kind 1) vs benign rows (kind 0);
    None without either."""
    positive = kinds[kinds >= 0] == 1
    if not positive.any() or positive.all():
        return None
    return float(round(roc_auc_score(positive, scores[kinds >= 0]), 6))


def matched_point(
    true: np.ndarray, scores: np.ndarray, unseen: Iterable[str], target_fpr: float
) -> dict:
    """Unseen-family recall at the threshold flagging at most ``target_fpr`` of the benign
    evaluation rows (the smallest such threshold), with that realized rate."""
    true, scores = np.asarray(true), np.asarray(scores, dtype=np.float64)
    benign = true == BENIGN
    positive = np.isin(true, sorted(set(unseen) - {BENIGN}))
    if not benign.any():
        return dict.fromkeys(("matched_threshold", "matched_benign_fpr", "matched_unseen_recall"))
    threshold = calibrate_threshold(scores[benign], target_fpr)
    flagged = scores > threshold
    return {
        "matched_threshold": float(threshold),
        "matched_benign_fpr": _rate(flagged[benign]),
        "matched_unseen_recall": _rate(flagged[positive]),
    }


def operating_point(
    true: np.ndarray,
    scores: np.ndarray,
    flagged: np.ndarray,
    owner: np.ndarray,
    org_index: int,
    unseen: Iterable[str],
    target_fpr: float,
) -> dict:
    """Every figure above for one organization's evaluation rows (all arrays row-aligned)."""
    unseen = sorted(set(unseen))
    return {
        **origin_fpr(true, flagged, owner, org_index),
        "unseen_roc_auc": _auc(row_kinds(true, unseen), np.asarray(scores)),
        "matched_target_fpr": target_fpr,
        **matched_point(true, scores, unseen, target_fpr),
    }


def pooled_operating_point(parts: list[tuple[dict, np.ndarray, np.ndarray]]) -> dict:
    """An arm's figures over every organization's evaluation rows: rates weighted by their row
    counts, the ROC-AUC over the pooled rows. ``parts``: per organization, its
    :func:`operating_point` result, and per evaluation row whether it is an unseen-family attack
    (1), benign (0) or neither (-1), and its malicious score."""
    metrics = [m for m, _, _ in parts]
    kinds = np.concatenate([k for _, k, _ in parts]) if parts else np.zeros(0)
    scores = np.concatenate([s for _, _, s in parts]) if parts else np.zeros(0)
    auc = _auc(kinds, scores)
    benign_rows = [int((k == 0).sum()) for _, k, _ in parts]
    unseen_rows = [int((k == 1).sum()) for _, k, _ in parts]
    return {
        "own_benign_fpr": pooled_rate(
            [(m["own_benign_fpr"], m["own_benign_rows"]) for m in metrics]
        ),
        "foreign_benign_fpr": pooled_rate(
            [(m["foreign_benign_fpr"], m["foreign_benign_rows"]) for m in metrics]
        ),
        "unseen_roc_auc": auc,
        "matched_benign_fpr": pooled_rate(
            [(m["matched_benign_fpr"], n) for m, n in zip(metrics, benign_rows, strict=True)]
        ),
        "matched_unseen_recall": pooled_rate(
            [(m["matched_unseen_recall"], n) for m, n in zip(metrics, unseen_rows, strict=True)]
        ),
    }


def row_kinds(true: np.ndarray, unseen: Iterable[str]) -> np.ndarray:
    """1 for an unseen-family attack, 0 for a benign row, -1 for any other row."""
    true = np.asarray(true)
    kinds = np.full(len(true), -1, dtype=np.int8)
    kinds[true == BENIGN] = 0
    kinds[np.isin(true, sorted(set(unseen) - {BENIGN}))] = 1
    return kinds

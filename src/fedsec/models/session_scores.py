"""A log session's score from its events' ranks or surprises, and the calibration of the
threshold that flags it: the session-level half of DeepLog (:mod:`fedsec.models.deeplog`),
plain numpy, shared by the in-process engine, the deployed sites and ``fedsec detect``.

``max-rank`` scores a session by its largest rank (:func:`session_scores`), flagged from a
``top_k`` calibrated on normal validation sessions (:func:`calibrate_top_k`); ``max-surprise``
by its largest surprise (:func:`largest`), thresholded on a histogram organizations can pool
without sending scores (:func:`surprise_histogram`, :func:`threshold_of_histogram`); the
whole-sequence scores by every event's normalised log-rank (:func:`whole_sequence_scores`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def session_scores(ranks: Sequence[np.ndarray]) -> np.ndarray:
    return np.asarray([int(r.max()) if len(r) else 0 for r in ranks], np.int64)


def largest(values: Sequence[np.ndarray]) -> np.ndarray:
    """Per session, its largest value (an empty session: 0)."""
    return np.asarray([float(v.max()) if len(v) else 0.0 for v in values], np.float64)


def whole_sequence_scores(
    ranks: Sequence[np.ndarray], unseen_rank: int, score: str, quantile: float = 0.95
) -> np.ndarray:
    """Per session, the mean (``mean-log-rank``) or the ``quantile`` (``quantile-log-rank``) of
    ``log(1 + rank) / log(1 + unseen_rank)`` over its events: in [0, 1], 1 for never-seen events,
    independent of the session's length (an empty session scores 0)."""
    scale = np.log1p(max(unseen_rank, 1))
    out = np.zeros(len(ranks), np.float64)
    for i, r in enumerate(ranks):
        if len(r) == 0:
            continue
        normalised = np.log1p(np.asarray(r, np.float64)) / scale
        if score == "mean-log-rank":
            out[i] = normalised.mean()
        else:
            out[i] = np.quantile(normalised, quantile)
    return np.round(out, 12)


#: Bins of [0, 1] in which a pooled ``max-surprise`` threshold is chosen: each organization
#: sends the histogram of its normal validation sessions' scores, never the scores.
SURPRISE_BINS = 1024


def surprise_histogram(scores: np.ndarray) -> np.ndarray:
    """Counts of ``scores`` (in [0, 1]) in :data:`SURPRISE_BINS` bins, bin ``i`` holding
    ``(i / B, (i + 1) / B]`` (a score of 0 in the first)."""
    bins = np.ceil(np.asarray(scores, np.float64) * SURPRISE_BINS).astype(np.int64) - 1
    return np.bincount(np.clip(bins, 0, SURPRISE_BINS - 1), minlength=SURPRISE_BINS)


def threshold_of_histogram(counts: np.ndarray, target_fpr: float) -> float:
    """The smallest bin edge ``t`` with at most ``target_fpr`` of the counted sessions above
    it (flagged: score > t); 1 (nothing flagged) when no edge below keeps within it."""
    counts = np.asarray(counts, np.int64)
    above = counts.sum() - np.cumsum(counts)  # sessions in bins after bin i
    within = np.flatnonzero(above <= target_fpr * counts.sum())
    return float((within[0] + 1) / len(counts)) if len(within) else 1.0


def calibrate_top_k(normal_scores: np.ndarray, target_fpr: float, max_k: int) -> int:
    """Smallest ``top_k`` in ``[1, max_k]`` flagging at most ``target_fpr`` of the normal
    validation sessions. Sessions scoring ``max_k`` or more (events never seen in training) are
    flagged whatever ``top_k`` is and count against the budget; when they alone exceed it,
    ``max_k`` (flag nothing else) is the answer."""
    scores = np.sort(np.asarray(normal_scores))
    cap = max(1, max_k)
    if len(scores) == 0:
        return cap
    budget = target_fpr * len(scores)
    for k in range(1, cap + 1):
        if len(scores) - np.searchsorted(scores, k, side="left") <= budget:
            return k
    return cap

"""STIDE-style n-gram baseline (Forrest et al. 1996; Warrender et al. 1999), fitted federatedly.

The normal model is the table of every length-``n`` run of events (n-gram) seen in normal
training sessions, with its count. Sessions are padded with ``n - 1`` start markers and one end
marker, so a session shorter than ``n`` still has n-grams and an early stop is a new n-gram. A
session's score is its *mismatch rate*: the share of its n-grams absent from the table (those
seen fewer than ``min_count`` times count as absent), a whole-sequence score in [0, 1] whatever
the session's length. An organization's share is its n-gram counts; the federated table is their
sum, *exactly* the table of the pooled sessions (what the coordinator learns: every
organization's n-grams of hashed event tokens and their counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fedsec.models.base import Detector, flag

START, END = -1, -2  # markers outside the hashed token range (non-negative)


def session_ngrams(tokens: np.ndarray, n: int) -> np.ndarray:
    """The ``n``-grams of one session (rows), padded with start markers and an end marker."""
    padded = np.concatenate([np.full(n - 1, START, np.int64), np.asarray(tokens, np.int64), [END]])
    return sliding_window_view(padded, n)


@dataclass
class NgramCounts:
    """Distinct n-grams (sorted rows) and how often each occurred in normal training sessions."""

    n: int
    grams: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, sessions: Sequence[np.ndarray], n: int) -> NgramCounts:
        if n < 1:
            raise ValueError("an n-gram needs n >= 1")
        if not sessions:
            return cls(n, np.zeros((0, n), np.int64), np.zeros(0, np.int64))
        rows = np.concatenate([session_ngrams(s, n) for s in sessions])
        grams, counts = np.unique(rows, axis=0, return_counts=True)
        return cls(n, grams, counts.astype(np.int64))

    def merge(self, other: NgramCounts) -> NgramCounts:
        """The counts of both parties' sessions together (exact: a sum per n-gram)."""
        if other.n != self.n:
            raise ValueError(f"cannot merge {self.n}-grams with {other.n}-grams")
        rows = np.concatenate([self.grams, other.grams])
        grams, inverse = np.unique(rows, axis=0, return_inverse=True)
        counts = np.zeros(len(grams), np.int64)
        np.add.at(counts, inverse.ravel(), np.concatenate([self.counts, other.counts]))
        return NgramCounts(self.n, grams, counts)


def merge_counts(parts: Sequence[NgramCounts]) -> NgramCounts:
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    return merged


class NgramDetector(Detector):
    """Mismatch rate against the table of normal n-grams, with per-organization thresholds.

    Hyperparameters: ``n`` and ``min_count``. Learned: ``grams_`` (the known n-grams, sorted
    rows) and ``thresholds_``. The federated fit is :meth:`fit_counts` on merged counts."""

    def __init__(self, n: int = 6, min_count: int = 1) -> None:
        self.n = n
        self.min_count = min_count

    def fit(self, X: Sequence[np.ndarray], y: None = None) -> Self:
        """The table of one party's normal sessions."""
        return self.fit_counts(NgramCounts.of(X, self.n))

    def fit_counts(self, counts: NgramCounts) -> Self:
        if counts.n != self.n:
            raise ValueError(f"counts of {counts.n}-grams for a {self.n}-gram detector")
        self.grams_ = counts.grams[counts.counts >= self.min_count]
        self._keys = _row_keys(self.grams_)
        self.thresholds_ = {}
        return self

    def decision_function(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Per session, the share of its n-grams the normal table does not hold."""
        out = np.zeros(len(X), np.float64)
        for i, tokens in enumerate(X):
            keys = _row_keys(session_ngrams(tokens, self.n))
            out[i] = 1.0 - np.isin(keys, self._keys).mean()
        return np.round(out, 12)

    def predict(self, X: Sequence[np.ndarray], org: str | None = None) -> np.ndarray:
        """True for sessions whose mismatch rate is above ``org``'s threshold."""
        return flag(self.decision_function(X), self.threshold_for(org)).astype(bool)


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One comparable value per n-gram row (its bytes)."""
    rows = np.ascontiguousarray(rows, np.int64)
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()

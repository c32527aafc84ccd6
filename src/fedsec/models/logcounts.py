"""Count-vector baseline: PCA on event counts (Xu et al., SOSP 2009), fitted federatedly.

Each session becomes ``log1p`` counts of the tokens the model knows. The normal subspace is
spanned by the principal components explaining ``variance`` of normal training sessions; a
session's score is its squared distance to that subspace (SPE), infinite when it holds an event
never seen in training. The fit needs only each organization's session count, sum of vectors
and sum of outer products, so the federated fit is *exactly* the pooled one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from fedsec.models.base import Detector, flag


@dataclass
class CountStats:
    """An organization's share: sums over its normal training sessions' count vectors."""

    n: float
    total: np.ndarray
    outer: np.ndarray

    def merge(self, other: CountStats) -> CountStats:
        return CountStats(self.n + other.n, self.total + other.total, self.outer + other.outer)


def count_matrix(
    sessions: Sequence[np.ndarray], index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(``log1p`` counts of each token of ``index`` per session, number of other tokens);
    counted at once over all sessions' (session, token) pairs."""
    index = np.asarray(index, np.int64)
    x = np.zeros((len(sessions), len(index)), np.float64)
    lengths = np.fromiter((len(tokens) for tokens in sessions), np.int64, len(sessions))
    if not lengths.sum():
        return x, np.zeros(len(sessions), np.int64)
    rows = np.repeat(np.arange(len(sessions)), lengths)
    tokens = np.concatenate([np.asarray(t) for t in sessions if len(t)])
    order = np.lexsort((tokens, rows))
    rows, tokens = rows[order], tokens[order]
    first = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (tokens[1:] != tokens[:-1])])
    counts = np.diff(np.r_[first, len(rows)])
    rows, values = rows[first], tokens[first]
    where = np.searchsorted(index, values)
    found = (where < len(index)) & (index[np.minimum(where, len(index) - 1)] == values)
    x[rows[found], where[found]] = np.log1p(counts[found])
    unseen = np.bincount(rows[~found], counts[~found], len(sessions)).astype(np.int64)
    return x, unseen


def count_stats(sessions: Sequence[np.ndarray], index: np.ndarray) -> CountStats:
    x, _ = count_matrix(sessions, index)
    return CountStats(float(len(x)), x.sum(axis=0), x.T @ x)


class CountPCA(Detector):
    """Normal subspace of event-count vectors and per-organization SPE thresholds.

    Hyperparameters: ``index`` (the sorted hashed tokens counted) and ``variance`` (share of
    the normal variance the subspace keeps). Learned: ``mean_``, ``components_`` and
    ``thresholds_``. The federated fit is :meth:`fit_stats` on merged :class:`CountStats`."""

    def __init__(self, index: np.ndarray, variance: float = 0.95) -> None:
        self.index = index
        self.variance = variance

    def fit(self, X: Sequence[np.ndarray], y: None = None) -> Self:
        """The subspace of one party's normal sessions."""
        return self.fit_stats(count_stats(X, self.index))

    def fit_stats(self, stats: CountStats) -> Self:
        """Principal components from (merged) sums: mean, covariance, eigen-decomposition."""
        if stats.n < 2:
            raise ValueError("the count baseline needs at least two normal training sessions")
        mean = stats.total / stats.n
        covariance = stats.outer / stats.n - np.outer(mean, mean)
        values, vectors = np.linalg.eigh(covariance)
        order = np.argsort(values)[::-1]
        values, vectors = np.clip(values[order], 0, None), vectors[:, order]
        share = np.cumsum(values) / values.sum() if values.sum() > 0 else np.ones(len(values))
        k = int(np.searchsorted(share, self.variance) + 1) if len(values) else 0
        self.mean_, self.components_ = mean, vectors[:, :k].T.copy()
        self.thresholds_ = {}
        return self

    def decision_function(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Squared distance to the normal subspace; infinite with an event never seen."""
        x, unseen = count_matrix(X, self.index)
        centred = x - self.mean_
        residual = centred - (centred @ self.components_.T) @ self.components_
        spe = (residual**2).sum(axis=1)
        return np.where(unseen > 0, np.inf, spe)

    def predict(self, X: Sequence[np.ndarray], org: str | None = None) -> np.ndarray:
        """True for sessions above ``org``'s threshold (else the global one)."""
        return flag(self.decision_function(X), self.threshold_for(org)).astype(bool)


def fit_count_pca(stats: CountStats, index: np.ndarray, variance: float = 0.95) -> CountPCA:
    """The subspace from (merged) sums over the sessions' counts of ``index``'s tokens."""
    return CountPCA(np.asarray(index, np.int64), variance).fit_stats(stats)

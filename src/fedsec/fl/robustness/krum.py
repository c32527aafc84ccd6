"""Multi-Krum.

Blanchard, El Mhamdi, Guerraoui and Stainer, "Machine Learning with Adversaries: Byzantine
Tolerant Gradient Descent", NeurIPS 2017 (Krum and Multi-Krum). Each update is scored by the
sum of squared distances to its ``n - f - 2`` nearest neighbours; the ``m = n - f`` updates with
the lowest scores are averaged (weighted by their capped sample counts), the others left out.
``f`` is the number of dishonest sites the rule is sized for (default ``max(1, n // 5)``: 1 of
5, 2 of 10; never above ``(n - 1) // 2``).

Defends: up to ``f`` updates far from the honest cluster (sign flip, scaling, noise, free-riding
is harmless and usually kept). Costs: every round leaves out ``f`` sites, honest or not, so
with attack-disjoint sites the families of the site left out miss that round.
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.robustness.base import Decision


def byzantine_count(n: int, max_byzantine: int | None) -> int:
    """``f``: as configured, else ``max(1, n // 5)``; at most ``(n - 1) // 2``, 0 below 3 sites."""
    if n < 3:
        return 0
    f = max(1, n // 5) if max_byzantine is None else max_byzantine
    return min(f, (n - 1) // 2)


def krum_scores(deltas: np.ndarray, f: int) -> np.ndarray:
    """Sum of squared distances from each update to its ``n - f - 2`` nearest others."""
    n = len(deltas)
    sq = np.sum(deltas**2, axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * deltas @ deltas.T, 0.0)
    neighbours = max(1, n - f - 2)
    nearest = np.sort(dist + np.diag(np.full(n, np.inf)), axis=1)[:, :neighbours]
    return nearest.sum(axis=1)


class MultiKrum:
    name = "multi_krum"

    def __init__(self, max_byzantine: int | None = None) -> None:
        self.max_byzantine = max_byzantine

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        n = len(deltas)
        f = byzantine_count(n, self.max_byzantine)
        chosen = np.argsort(krum_scores(deltas, f), kind="stable")[: n - f]
        share = np.zeros(n)
        share[chosen] = weights[chosen] / weights[chosen].sum()
        return Decision(share @ deltas, share)

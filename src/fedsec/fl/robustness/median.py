"""Coordinate-wise median.

Yin, Chen, Kannan and Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal
Statistical Rates", ICML 2018. Each coordinate of the combined change is the median of the
sites' values there (unweighted: a weight would be a lever for the attacker), so fewer than half
the sites cannot move it outside the honest values' range.

Defends: any minority update however large (sign flip, scaling, noise, inflated counts).
Costs: with non-IID sites (attack-disjoint organizations) what only one site learns is a
minority in every coordinate and is mostly discarded.
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.robustness.base import Decision


class CoordinateMedian:
    name = "median"

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        delta = np.median(deltas, axis=0)
        return Decision(delta, middle_share(deltas, 1 if len(deltas) % 2 else 2))


def middle_share(deltas: np.ndarray, keep: int) -> np.ndarray:
    """Each site's share of the coordinates where its value is among the middle ``keep``."""
    n = len(deltas)
    cut = (n - keep) // 2
    order = np.argsort(deltas, axis=0, kind="stable")
    kept = order[cut : cut + keep]
    counts = np.bincount(kept.ravel(), minlength=n).astype(np.float64)
    return counts / counts.sum()

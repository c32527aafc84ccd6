"""Coordinate-wise trimmed mean.

Yin, Chen, Kannan and Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal
Statistical Rates", ICML 2018. In every coordinate the ``b`` largest and ``b`` smallest values
are dropped and the rest averaged; ``b`` is the number of dishonest sites the rule is sized for
(default: the most that still leaves one value, ``(n - 1) // 2``... capped at ``n // 4`` when
sized automatically, so most values are kept).

Defends: up to ``b`` sites with updates of any size. Costs: like the median, a lone site's
rare signal is trimmed.
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.robustness.base import Decision
from fedsec.fl.robustness.median import middle_share


def trim_count(n: int, max_byzantine: int | None) -> int:
    """Values dropped at each end: ``max_byzantine``, else ``max(1, n // 4)``; never all."""
    b = max(1, n // 4) if max_byzantine is None else max_byzantine
    return min(b, (n - 1) // 2)


class TrimmedMean:
    name = "trimmed_mean"

    def __init__(self, max_byzantine: int | None = None) -> None:
        self.max_byzantine = max_byzantine

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        n = len(deltas)
        b = trim_count(n, self.max_byzantine)
        ordered = np.sort(deltas, axis=0)
        delta = ordered[b : n - b].mean(axis=0)
        return Decision(delta, middle_share(deltas, n - 2 * b))

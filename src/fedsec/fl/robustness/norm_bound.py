"""Adaptive update-norm bounding.

Sun, Kairouz, Suresh and McMahan, "Can You Really Backdoor Federated Learning?", NeurIPS 2019
FL workshop (arXiv:1911.07963): bounding the norm of every update limits what a boosted or
model-replacement update can do. The bound here adapts each round to the median norm of the
round's updates (the idea of Andrew, Thakkar, McMahan and Ramaswamy, "Differentially Private
Learning with Adaptive Clipping", NeurIPS 2021, which tracks a norm quantile): honest updates
shrink as training converges, a fixed bound would not follow. Updates above
``multiplier x median`` are scaled down to it; then the weighted mean.

Defends: scaling/boosting, Gaussian noise of large norm. Does not defend: attacks of ordinary
norm (sign flip of an unboosted update, label flipping, a patient backdoor).
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.robustness.base import Decision


class NormBound:
    name = "norm_bound"

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        norms = np.linalg.norm(deltas, axis=1)
        bound = self.multiplier * float(np.median(norms))
        scale = np.where(norms > bound, bound / np.maximum(norms, 1e-12), 1.0)
        w = weights / weights.sum()
        delta = (w * scale) @ deltas
        effective = w * scale
        return Decision(delta, effective / effective.sum() if effective.sum() > 0 else w)

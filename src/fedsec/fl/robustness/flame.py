"""FLAME: cluster out the odd updates, clip the rest to the median norm, add a little noise.

Nguyen, Rieger, Chen, Yalame, Möllering, Fereidooni, Marchal, Miettinen, Mirhoseini, Zeitouni,
Koushanfar, Sadeghi and Schulz, "FLAME: Taming Backdoors in Federated Learning", USENIX
Security 2022. Three steps each round:

1. **Filtering**: HDBSCAN (Campello, Moulavi and Sander 2013) over the updates' pairwise cosine
   distances, ``min_cluster_size = n // 2 + 1`` so only a majority can form a cluster; the
   updates outside the majority cluster are left out. When no majority cluster forms (very
   diverse honest updates) every update is kept and the next two steps still apply.
2. **Adaptive clipping**: every kept update is scaled down to the median norm of all the
   round's updates (as :mod:`fedsec.fl.robustness.norm_bound`).
3. **Adaptive noise**: Gaussian noise of standard deviation ``noise x median norm`` per
   parameter is added to the combined change (the paper's ``lambda``, 0.001 for its image
   tasks), which blurs what a bounded backdoor update still carries. The noise comes from the
   run's seed, so a run is reproducible.

Kept updates are averaged by their capped sample counts (the paper averages them equally;
with organizations of different sizes the weighted mean is what the clean run uses).

Defends: sign flip and other updates pointing away from the majority, scaling, noise; a
backdoor whose update direction differs from the honest majority's. Does not defend: an attack
whose update looks like the honest ones (then it is only clipped).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedsec.core import seeding
from fedsec.fl.robustness.base import Decision


def cosine_distances(deltas: np.ndarray) -> np.ndarray:
    """Pairwise ``1 - cos`` between the updates (0 on the diagonal)."""
    unit = deltas / np.maximum(np.linalg.norm(deltas, axis=1, keepdims=True), 1e-12)
    distance = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    return distance


def majority_cluster(deltas: np.ndarray) -> np.ndarray:
    """Which updates belong to the cluster holding a majority of them (all, if none forms)."""
    n = len(deltas)
    if n < 3:
        return np.ones(n, dtype=bool)
    from sklearn.cluster import HDBSCAN  # this rule's alone: scenarios name it without loading it

    labels = HDBSCAN(
        min_cluster_size=n // 2 + 1,
        min_samples=1,
        metric="precomputed",
        allow_single_cluster=True,
        copy=True,
    ).fit_predict(cosine_distances(deltas))
    clustered = labels[labels >= 0]
    if clustered.size == 0:
        return np.ones(n, dtype=bool)
    majority = np.bincount(clustered).argmax()
    kept = labels == majority
    return kept if kept.sum() > n // 2 else np.ones(n, dtype=bool)


class Flame:
    name = "flame"

    def __init__(self, noise: float = 0.001, seed: int = 0) -> None:
        self.noise = noise
        self.rng = seeding.rng(seed, "flame")

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Where the noise stream is (for a checkpoint)."""
        return {}, {"rng": self.rng.bit_generator.state}

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        try:
            self.rng.bit_generator.state = meta["rng"]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{self.name} state: malformed ({error!r})") from None

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        kept = majority_cluster(deltas)
        norms = np.linalg.norm(deltas, axis=1)
        bound = float(np.median(norms))
        scale = np.where(norms > bound, bound / np.maximum(norms, 1e-12), 1.0)
        w = np.where(kept, weights, 0.0)
        effective = w / w.sum() * scale
        delta = effective @ deltas
        if self.noise > 0:
            delta = delta + self.rng.normal(0.0, self.noise * bound, size=delta.shape)
        return Decision(delta, effective / effective.sum())

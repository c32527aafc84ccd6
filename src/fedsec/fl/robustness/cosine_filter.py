"""Direction filter with adaptive norm bounding: a FLAME-style rule that needs no root data.

After FLAME (Nguyen, Rieger, Chen, Yalame, Möllering, Fereidooni, Marchal, Miettinen, Mirhoseini,
Zeitouni, Koushanfar, Sadeghi and Schulz, "FLAME: Taming Backdoors in Federated Learning",
USENIX Security 2022), simplified: FLAME keeps the majority cluster of updates by cosine distance
(HDBSCAN), bounds every update to the median norm and adds noise. Here the reference direction
is the coordinate-wise median of the round's updates (Yin et al., ICML 2018); an update pointing
away from it (cosine <= ``min_cosine``) is left out, the others are bounded to the median norm
(Sun et al. 2019, see :mod:`fedsec.fl.robustness.norm_bound`) and averaged by their capped
sample counts. No noise is added.

Unlike the median, trimmed mean or Krum, an honest site whose update is merely *different*
(its own attack families) keeps its full weight as long as it does not point against the
round's majority, so attack-disjoint organizations still teach each other their families.

Defends: sign flip, scaling/boosting, noise (each excluded or bounded). Partly: label flipping
and a backdoor (bounded, not excluded, while they point the majority's way).
"""

from __future__ import annotations

import numpy as np

from fedsec.fl.robustness.base import Decision


class CosineFilter:
    name = "cosine_filter"

    def __init__(self, min_cosine: float = 0.0, multiplier: float = 1.0) -> None:
        self.min_cosine, self.multiplier = min_cosine, multiplier

    def combine(self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray) -> Decision:
        reference = np.median(deltas, axis=0)
        norms = np.linalg.norm(deltas, axis=1)
        cosine = cosines(deltas, reference)
        kept = cosine > self.min_cosine
        if not kept.any():
            return Decision(np.zeros_like(global_flat), np.zeros(len(deltas)))
        bound = self.multiplier * float(np.median(norms))
        scale = np.where(norms > bound, bound / np.maximum(norms, 1e-12), 1.0)
        w = np.where(kept, weights, 0.0)
        w = w / w.sum()
        effective = w * scale
        return Decision(effective @ deltas, effective / effective.sum())


def cosines(deltas: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine similarity of each update with ``reference`` (0 for a zero vector)."""
    norms = np.linalg.norm(deltas, axis=1) * np.linalg.norm(reference)
    return (deltas @ reference) / np.maximum(norms, 1e-12)

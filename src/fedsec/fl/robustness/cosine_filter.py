"""Direction filter with a per-site reputation and adaptive norm bounding (FLAME-style, no root
data needed).

After FLAME (Nguyen, Rieger, Chen, Yalame, Möllering, Fereidooni, Marchal, Miettinen, Mirhoseini,
Zeitouni, Koushanfar, Sadeghi and Schulz, "FLAME: Taming Backdoors in Federated Learning",
USENIX Security 2022), simplified, with a reputation across rounds in the spirit of Xu and Lyu,
"A Reputation Mechanism Is All You Need: Collaborative Fairness and Adversarial Robustness in
Federated Learning", ICML 2021 workshop. Each round every update's cosine with the
coordinate-wise median update (Yin et al., ICML 2018) is folded into the site's reputation
(an exponential moving average, ``memory`` the weight of the past); a site whose reputation is
at or below ``min_cosine`` is left out this round. The others are bounded to the round's median
norm (Sun et al. 2019, see :mod:`fedsec.fl.robustness.norm_bound`) and averaged by their capped
sample counts.

Why a reputation: with attack-disjoint organizations honest updates are nearly orthogonal, so
in a single round an honest update sometimes points slightly away from the median; on average
it points along, while a sign-flipped update points against it round after round. Unlike the
median, trimmed mean or Krum, an honest site whose update is merely *different* keeps its full
weight.

Defends: sign flip, scaling/boosting, noise (left out or bounded). Partly: label flipping and a
backdoor (bounded, not left out, while they point the majority's way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedsec.fl.robustness.base import Decision


class CosineFilter:
    name = "cosine_filter"

    def __init__(self, min_cosine: float = 0.0, multiplier: float = 1.0, memory: float = 0.5):
        self.min_cosine, self.multiplier, self.memory = min_cosine, multiplier, memory
        self.reputation: dict[str, float] = {}

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The reputations (for a checkpoint)."""
        return {}, {"reputation": dict(self.reputation)}

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        try:
            self.reputation = {str(k): float(v) for k, v in meta["reputation"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"{self.name} state: malformed ({error!r})") from None

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        cosine = cosines(deltas, np.median(deltas, axis=0))
        for site, value in zip(sites, cosine, strict=True):
            past = self.reputation.get(site)
            mixed = value if past is None else self.memory * past + (1 - self.memory) * value
            self.reputation[site] = float(mixed)
        kept = np.asarray([self.reputation[s] > self.min_cosine for s in sites])
        if not kept.any():
            return Decision(np.zeros_like(global_flat), np.zeros(len(deltas)))
        norms = np.linalg.norm(deltas, axis=1)
        bound = self.multiplier * float(np.median(norms))
        scale = np.where(norms > bound, bound / np.maximum(norms, 1e-12), 1.0)
        w = np.where(kept, weights, 0.0)
        effective = w / w.sum() * scale  # bounded updates at their sites' weights
        return Decision(effective @ deltas, effective / effective.sum())


def cosines(deltas: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine similarity of each update with ``reference`` (0 for a zero vector)."""
    norms = np.linalg.norm(deltas, axis=1) * np.linalg.norm(reference)
    return (deltas @ reference) / np.maximum(norms, 1e-12)

"""How the server step shrinks over a run's rounds (``strategy.server_lr_decay``).

A server optimizer with a constant step keeps moving the global model by about ``server_lr``
per coordinate every round (FedAdam normalizes the step by the second moment, so the step does
not shrink as training settles), and the model the run ends with depends on the round it stops
at. Decaying the step to ``server_lr_floor`` times its start over the run settles the global
model instead: the usual remedy for the noise floor of a stochastic step (Robbins and Monro,
"A stochastic approximation method", Ann. Math. Stat. 1951); the cosine shape is that of
Loshchilov and Hutter, "SGDR: Stochastic gradient descent with warm restarts", ICLR 2017.

The factor depends only on the round number and the run's length, so a run resumed from a
checkpoint steps exactly as an uninterrupted one, and a deployment steps as the simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Decay = Literal["none", "cosine", "linear"]


@dataclass(frozen=True)
class ServerSchedule:
    """The share of ``server_lr`` a round steps with: 1 at round 1, ``floor`` at the last
    (``kind`` "none": 1 throughout)."""

    kind: Decay = "none"
    floor: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("none", "cosine", "linear"):
            raise ValueError(f"server_lr_decay must be none, cosine or linear, got {self.kind!r}")
        if not 0 <= self.floor <= 1:
            raise ValueError(f"server_lr_floor must be within [0, 1], got {self.floor}")

    def factor(self, round_: int, rounds: int | None) -> float:
        """The multiplier of ``server_lr`` in ``round_`` of ``rounds`` (1 when the run's length
        is unknown or a single round)."""
        if self.kind == "none" or rounds is None or rounds <= 1:
            return 1.0
        progress = min(max(round_ - 1, 0), rounds - 1) / (rounds - 1)
        cosine = self.kind == "cosine"
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if cosine else 1 - progress
        return self.floor + (1 - self.floor) * shape

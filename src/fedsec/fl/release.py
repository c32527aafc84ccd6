"""The model a run releases: its last round's model, or the mean of its models over its last
rounds (iterate averaging: Polyak and Juditsky, "Acceleration of stochastic approximation by
averaging", SIAM J. Control Optim. 1992; for deep networks Izmailov et al., "Averaging weights
leads to wider optima and better generalization", UAI 2018).

Federated training with a server optimizer oscillates from round to round (FedAdam steps every
coordinate by about ``server_lr`` whatever the gradient's size), so the last round's model
depends on where training happens to stop. The mean of the last rounds' global models does not,
and it costs the coordinator nothing it does not already hold: every global model is its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fedsec.training.params import Params


@dataclass
class TailAverage:
    """Running mean (float64) of the models of rounds ``first_round``.. ; a checkpoint keeps
    ``mean`` and ``count`` so a resumed run releases what an uninterrupted one would."""

    first_round: int
    mean: Params | None = None
    count: int = 0

    @classmethod
    def of(cls, share: float, rounds: int) -> TailAverage:
        """Average the last ``ceil(share * rounds)`` rounds (``share`` 0: release the last)."""
        if not 0 <= share <= 1:
            raise ValueError(f"release_average must be within [0, 1], got {share}")
        averaged = math.ceil(share * rounds)
        return cls(rounds - averaged + 1 if averaged else rounds + 1)

    def observe(self, round_: int, params: Params) -> None:
        """Take in the model ``round_`` ended with."""
        if round_ < self.first_round:
            return
        self.count += 1
        if self.mean is None:
            self.mean = [np.asarray(p, dtype=np.float64).copy() for p in params]
            return
        self.mean = [m + (p - m) / self.count for m, p in zip(self.mean, params, strict=True)]

    def released(self, last: Params) -> Params:
        """The model to release: the mean, or ``last`` when no round was averaged."""
        if self.mean is None:
            return last
        return [m.astype(p.dtype) for m, p in zip(self.mean, last, strict=True)]

    def restore(self, mean: Params | None, count: int) -> None:
        if count < 0 or (count > 0) != (mean is not None):
            raise ValueError(f"release average: {count} models averaged but mean is {mean!r:.40}")
        self.mean = None if mean is None else [np.asarray(m, dtype=np.float64) for m in mean]
        self.count = count

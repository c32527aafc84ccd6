"""The adaptive server optimizers of Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar and
McMahan, "Adaptive Federated Optimization", ICLR 2021 (Algorithm 2).

The mean change of a round, ``delta``, is a pseudo-gradient: the coordinator keeps a first
moment ``m = beta1 * m + (1 - beta1) * delta`` and a second moment ``v`` (how ``v`` is updated
is what distinguishes FedAdam, FedYogi and FedAdagrad), and steps
``global + server_lr * m / (sqrt(v) + tau)``. ``v`` starts at ``tau^2``. (``server_lr`` is
the round's step: it shrinks over the run with ``strategy.server_lr_decay``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedsec.fl.aggregation.base import Aggregation
from fedsec.fl.strategies.base import ServerState, Strategy, StrategySettings
from fedsec.training.params import Params


class AdaptiveStrategy(Strategy):
    """Server-side adaptive step on the averaged update; subclasses define ``second_moment``."""

    default_server_lr = 0.03

    def __init__(
        self,
        server_lr: float | None = None,
        aggregation: Aggregation | None = None,
        beta1: float = 0.9,
        beta2: float = 0.99,
        tau: float = 1e-3,
    ) -> None:
        super().__init__(server_lr, aggregation)
        self.beta1, self.beta2, self.tau = beta1, beta2, tau

    @classmethod
    def hyperparameters(cls, config: StrategySettings) -> dict[str, Any]:
        return {"beta1": config.beta1, "beta2": config.beta2, "tau": config.tau}

    def second_moment(self, v: np.ndarray, delta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def server_update(self, global_params: Params, delta: Params) -> Params:
        state = self.state
        m = state.m or [np.zeros_like(d) for d in delta]
        v = state.v or [np.full_like(d, self.tau**2) for d in delta]
        m = [self.beta1 * mi + (1 - self.beta1) * d for mi, d in zip(m, delta, strict=True)]
        v = [self.second_moment(vi, d) for vi, d in zip(v, delta, strict=True)]
        self.state = ServerState(m, v, state.step)
        return [
            g + self.round_lr * mi / (np.sqrt(vi) + self.tau)
            for g, mi, vi in zip(global_params, m, v, strict=True)
        ]

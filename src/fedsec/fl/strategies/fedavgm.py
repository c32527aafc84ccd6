"""FedAvgM: Hsu, Qi and Brown, "Measuring the Effects of Non-Identical Data Distribution for
Federated Visual Classification", arXiv:1909.06335, 2019.

Server momentum on FedAvg: ``m = momentum * m + delta``, ``global + server_lr * m``. With
non-identical sites it smooths the direction across rounds; the effective step is
``server_lr / (1 - momentum)``.
"""

from __future__ import annotations

from typing import Any

from fedsec.fl.aggregation.base import Aggregation
from fedsec.fl.strategies.base import ServerState, Strategy, StrategySettings
from fedsec.training.params import Params


class FedAvgM(Strategy):
    name = "fedavgm"
    default_server_lr = 1.0

    def __init__(
        self,
        server_lr: float | None = None,
        aggregation: Aggregation | None = None,
        momentum: float = 0.9,
    ) -> None:
        super().__init__(server_lr, aggregation)
        self.momentum = momentum

    @classmethod
    def hyperparameters(cls, config: StrategySettings) -> dict[str, Any]:
        return {"momentum": config.server_momentum}

    def server_update(self, global_params: Params, delta: Params) -> Params:
        previous = self.state.m or [0.0 * d for d in delta]
        m = [self.momentum * p + d for p, d in zip(previous, delta, strict=True)]
        self.state = ServerState(m, None, self.state.step)
        return [g + self.round_lr * mi for g, mi in zip(global_params, m, strict=True)]

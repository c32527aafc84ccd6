"""FedProx: Li, Sahu, Zaheer, Sanjabi, Talwalkar and Smith, "Federated Optimization in
Heterogeneous Networks", MLSys 2020.

Each site adds ``mu / 2 * ||w - w_global||^2`` to its local objective, which keeps heterogeneous
sites from drifting far from the global model; the coordinator aggregates as FedAvg.
"""

from __future__ import annotations

from typing import Any

from fedsec.fl.aggregation.base import Aggregation
from fedsec.fl.strategies.base import Strategy, StrategySettings


class FedProx(Strategy):
    name = "fedprox"
    default_server_lr = 1.0
    changes_local_gradients = True

    def __init__(
        self,
        server_lr: float | None = None,
        aggregation: Aggregation | None = None,
        prox_mu: float = 0.01,
    ) -> None:
        super().__init__(server_lr, aggregation)
        self.prox_mu = prox_mu

    @classmethod
    def hyperparameters(cls, config: StrategySettings) -> dict[str, Any]:
        return {"prox_mu": config.prox_mu}

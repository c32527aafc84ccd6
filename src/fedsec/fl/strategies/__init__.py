"""Federated strategies, one module per algorithm (its paper cited there), by name.

Adding a strategy is one module with a :class:`~fedsec.fl.strategies.base.Strategy` subclass
and one entry in :data:`STRATEGIES`; scenarios then accept its name (``strategy.name``).
"""

from __future__ import annotations

from fedsec.fl.aggregation.base import Aggregation
from fedsec.fl.strategies.base import (
    ServerState,
    SiteTask,
    Strategy,
    StrategySettings,
    StrategyState,
)
from fedsec.fl.strategies.fedadagrad import FedAdagrad
from fedsec.fl.strategies.fedadam import FedAdam
from fedsec.fl.strategies.fedavg import FedAvg
from fedsec.fl.strategies.fedavgm import FedAvgM
from fedsec.fl.strategies.fedprox import FedProx
from fedsec.fl.strategies.fedyogi import FedYogi
from fedsec.fl.strategies.scaffold import Scaffold

#: Every strategy by the name a scenario gives it.
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (FedAvg, FedProx, FedAdam, FedYogi, FedAdagrad, FedAvgM, Scaffold)
}


def strategy_class(name: str) -> type[Strategy]:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(
            f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}"
        ) from None


def from_config(
    config: StrategySettings, server_lr: float | None = None, aggregation: Aggregation | None = None
) -> Strategy:
    """A fresh strategy object as ``config`` names and sets it."""
    return strategy_class(config.name).from_config(config, server_lr, aggregation)


__all__ = [
    "STRATEGIES",
    "FedAdagrad",
    "FedAdam",
    "FedAvg",
    "FedAvgM",
    "FedProx",
    "FedYogi",
    "Scaffold",
    "ServerState",
    "SiteTask",
    "Strategy",
    "StrategySettings",
    "StrategyState",
    "from_config",
    "strategy_class",
]

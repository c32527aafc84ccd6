"""The in-process engine: every organization's local update and the aggregation, in one process.

Fast and deterministic; it runs the federated round loop (:func:`fedsec.fl.loop.run_rounds`)
over a transport that trains each selected organization here, with the functions a deployed
site calls (``local_update`` through :func:`fedsec.fl.site.run_task`), so research runs and
deployments train the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from torch import nn

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.loop import FederatedResult, Transport, run_rounds
from fedsec.fl.site import run_task
from fedsec.fl.strategies.base import SiteTask, Strategy
from fedsec.training.params import Params
from fedsec.training.plan import TrainingPlan

__all__ = ["InProcessTransport", "Shard", "run_federated"]


@dataclass
class Shard:
    """One organization's training data, already preprocessed and label-encoded."""

    name: str
    x: np.ndarray
    y: np.ndarray
    rows: int | None = None  # the rows it holds, when ``x`` adds training copies of them

    def registered_rows(self) -> int:
        """The sample count the organization claims: its own rows, not its copies."""
        return len(self.y) if self.rows is None else self.rows


class InProcessTransport:
    """Trains each selected organization in this process; keeps each one's own SCAFFOLD
    control variate as that organization would."""

    def __init__(
        self, model: nn.Module, shards: list[Shard], plan: Callable[[Shard, int], TrainingPlan]
    ) -> None:
        self.model, self.plan = model, plan
        self.shards = {shard.name: shard for shard in shards}
        self.controls: dict[str, Params | None] = {}

    def train(
        self, round_: int, params: Params, tasks: dict[str, SiteTask]
    ) -> dict[str, SiteResult]:
        results = {}
        for name, task in tasks.items():
            shard = self.shards[name]
            results[name], self.controls[name] = run_task(
                self.model,
                params,
                shard.x,
                shard.y,
                self.plan(shard, round_),
                task,
                self.controls.get(name),
            )
            if shard.rows is not None:
                update = replace(results[name].update, num_samples=shard.rows)
                results[name] = replace(results[name], update=update)
        return results


def run_federated(
    model: nn.Module,
    initial: Params,
    shards: list[Shard],
    plan: Callable[[Shard, int], TrainingPlan],
    strategy: Strategy,
    rounds: int,
    *,
    fraction: float = 1.0,
    min_orgs: int = 1,
    seed: int,
    on_round: Callable[[int, Params], None] | None = None,
    wrap: Callable[[Transport], Transport] | None = None,
    release_average: float = 0.0,
) -> FederatedResult:
    """Run ``rounds`` rounds of select -> local update -> aggregate; return the global model.
    Protection (secure aggregation, HE, client DP) is the strategy's aggregation rule;
    ``wrap`` puts something in front of the sites (their acceptance gates)."""
    transport: Transport = InProcessTransport(model, shards, plan)
    return run_rounds(
        strategy,
        transport if wrap is None else wrap(transport),
        initial,
        {shard.name: shard.registered_rows() for shard in shards},
        rounds,
        fraction=fraction,
        min_orgs=min_orgs,
        seed=seed,
        on_round=on_round,
        release_average=release_average,
    )

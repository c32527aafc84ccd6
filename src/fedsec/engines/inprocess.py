"""The in-process engine: every organization's local update and the aggregation, in one process.

Fast and deterministic; it calls exactly the functions a deployment calls (``local_update``,
``weighted_average``, ``server_step``), so research runs and deployments train the same model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from fedsec.core import seeding
from fedsec.fl import scaffold
from fedsec.fl.aggregate import ServerOptimizer, ServerState, server_step, weighted_average
from fedsec.fl.privacy.protect import ProtectionPlan, RoundProtection, protected_average
from fedsec.training.local import TrainingPlan, Update, local_gradient, local_update
from fedsec.training.params import Params


@dataclass
class Shard:
    """One organization's training data, already preprocessed and label-encoded."""

    name: str
    x: np.ndarray
    y: np.ndarray


@dataclass
class RoundRecord:
    round: int
    selected: list[str]
    loss: float
    seconds: float
    protection_seconds: float = 0.0
    dropped: list[str] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)


@dataclass
class FederatedResult:
    params: Params
    history: list[RoundRecord] = field(default_factory=list)


class _Controls:
    """SCAFFOLD state: each organization's control variate and the coordinator's."""

    def __init__(self, initial: Params, shards: list[Shard]) -> None:
        self.server = scaffold.zeros_like(initial)
        self.client = {s.name: scaffold.zeros_like(initial) for s in shards}
        total = float(sum(len(s.y) for s in shards))
        self.weight = {s.name: len(s.y) / total for s in shards}
        self.weight_per_row = 1.0 / total
        self.pending: dict[str, Params] = {}

    def correction(self, name: str) -> Params:
        return scaffold.correction(self.server, self.client[name])

    def refresh(self, name: str, gradient: Params) -> None:
        self.pending[name] = [g - c for g, c in zip(gradient, self.client[name], strict=True)]
        self.client[name] = gradient

    def aggregate(self, selected: list[str]) -> None:
        """In clear: the coordinator receives every organization's control-variate change."""
        self.server = scaffold.server_control_step(
            self.server, [self.pending[n] for n in selected], [self.weight[n] for n in selected]
        )
        self.pending.clear()

    def protected(self, selected: list[str]) -> dict[str, Params]:
        """The changes to send inside the protected sum (``w_i = n_i / weight_unit`` there)."""
        pending, self.pending = self.pending, {}
        return {n: pending[n] for n in selected}

    def apply_sum(self, weighted: Params, weight_unit: float) -> None:
        """``c += sum_i (n_i / N) dc_i`` from the protected ``sum_i (n_i / weight_unit) dc_i``."""
        scale = weight_unit * self.weight_per_row
        self.server = [
            (c.astype(np.float64) + scale * s).astype(np.float32)
            for c, s in zip(self.server, weighted, strict=True)
        ]


def select_orgs(
    names: list[str], fraction: float, min_orgs: int, seed: int, round_: int
) -> list[str]:
    """Seeded client sampling: ``max(min_orgs, ceil(fraction * n))`` organizations a round."""
    k = min(len(names), max(min_orgs, math.ceil(fraction * len(names))))
    if k == len(names):
        return list(names)
    picks = seeding.rng(seed, "select", round_).choice(len(names), size=k, replace=False)
    return [names[i] for i in sorted(picks)]


def run_federated(
    model: nn.Module,
    initial: Params,
    shards: list[Shard],
    plan: Callable[[Shard, int], TrainingPlan],
    server: ServerOptimizer,
    rounds: int,
    *,
    fraction: float = 1.0,
    min_orgs: int = 1,
    seed: int = 0,
    on_round: Callable[[int, Params], None] | None = None,
    protection: ProtectionPlan | None = None,
) -> FederatedResult:
    """Run ``rounds`` rounds of select -> local update -> aggregate; return the global model."""
    by_name = {shard.name: shard for shard in shards}
    params, state = initial, ServerState()
    controls = _Controls(initial, shards) if server.name == "scaffold" else None
    history: list[RoundRecord] = []
    for round_ in range(1, rounds + 1):
        started = time.perf_counter()
        selected = select_orgs(list(by_name), fraction, min_orgs, seed, round_)
        updates: list[Update] = []
        for name in selected:
            shard, shard_plan = by_name[name], plan(by_name[name], round_)
            steer = controls.correction(name) if controls else None
            updates.append(local_update(model, params, shard.x, shard.y, shard_plan, steer))
            if controls:
                controls.refresh(name, local_gradient(model, params, shard.x, shard.y, shard_plan))
        if protection is None:
            if controls:
                controls.aggregate(selected)
            averaged, guarded = weighted_average(updates), RoundProtection()
        else:
            by_org = dict(zip(selected, updates, strict=True))
            extras = controls.protected(selected) if controls else None
            averaged, guarded = protected_average(params, by_org, protection, round_, extras=extras)
            if controls:
                controls.apply_sum(guarded.extra, protection.weight_unit)
        params, state = server_step(params, averaged, server, state)
        loss = float(
            np.average(
                [u.metrics["loss"] for u in updates], weights=[u.num_samples for u in updates]
            )
        )
        steps = {
            n: int(u.metrics.get("dp_steps", 0)) for n, u in zip(selected, updates, strict=True)
        }
        history.append(
            RoundRecord(
                round_,
                selected,
                loss,
                time.perf_counter() - started,
                guarded.seconds,
                guarded.dropped,
                steps,
            )
        )
        if on_round is not None:
            on_round(round_, params)
    return FederatedResult(params, history)

"""What every task's arms share: the trained-arm record, the per-round training plan, DP
noise and accounting, learning-curve rounds, and ``federate``: the federated arm's run of the
one round loop (:mod:`fedsec.fl.loop`) with the scenario's strategy, sampling and protection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
from torch import nn

from fedsec.data.flows import FeatureFrame
from fedsec.engines.inprocess import Shard, run_federated
from fedsec.engines.threats import Inputs, ThreatResult, run_under_threat
from fedsec.features.moments import local_stats, merge_stats
from fedsec.features.preprocess import Preprocessor, fit_preprocessor
from fedsec.fl import recipe
from fedsec.fl.config import TrainingConfig
from fedsec.fl.loop import FederatedResult, Transport
from fedsec.fl.privacy import dp_stats, neighbours
from fedsec.fl.privacy.protect import ProtectionPlan
from fedsec.scenarios.config import Scenario
from fedsec.training.params import Params
from fedsec.training.plan import TrainingPlan

Progress = Callable[[str], None]
M = TypeVar("M")


@dataclass
class TrainedArm(Generic[M]):
    """An arm's model per organization (one shared object for centralized and federated), its
    learning curve, timings and the record-level DP each organization spent."""

    name: str
    models: dict[str, M]
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    round_seconds: list[float] = field(default_factory=list)
    privacy: dict = field(default_factory=dict)
    protection_seconds: list[float] = field(default_factory=list)
    threats: ThreatResult | None = None  # adversaries and defence (federated arm, if any)
    gate: dict | None = None  # the sites' acceptance gates: verdicts and refusals (if any)
    participation: dict[str, int] | None = None  # rounds each organization took part in


def plan(
    scenario: Scenario,
    weights: tuple[float, ...] | None,
    orgs_per_step: int,
    noise: float,
    seed: int,
    *,
    sample_rate: float = 0.0,
) -> TrainingPlan:
    """The training plan of one round; the centralized arm takes every org's share of steps.
    In the federated arm the strategy adds its part (FedProx's ``prox_mu``) each round;
    ``seed``: the round's (the federated arm's: :func:`~fedsec.core.seeding.federated_seed`);
    ``sample_rate``: distributed DP-SGD's federation-wide rate (``noise`` is then a share)."""
    return recipe.training_plan(
        training(scenario),
        orgs_per_step=orgs_per_step,
        prox_mu=0.0,
        weights=weights,
        noise=noise,
        clip=scenario.privacy.sample_dp,
        seed=seed,
        sample_rate=sample_rate,
        logit_adjusted=scenario.model.class_weighting == "logit_adjusted",
    )


def training(scenario: Scenario) -> TrainingConfig:
    """The local training settings that run (DP-SGD's own batch and steps when it is on)."""
    return recipe.dp_training(scenario.training, scenario.privacy.sample_dp)


def steps_per_round(scenario: Scenario, rows: int, orgs_per_step: int) -> int:
    return recipe.steps_per_round(training(scenario), rows, orgs_per_step)


def dp_noise(
    scenario: Scenario, rows: int, orgs_per_step: int, rate: float = 0.0, where: str = ""
) -> float:
    """DP-SGD noise multiplier meeting the scenario's record-level epsilon over all rounds
    (``rate``: distributed DP-SGD's federation-wide rate, else each draws its own; ``where``:
    whose ``rows`` they are, for a refusal)."""
    budget, rounds = scenario.privacy.sample_dp, scenario.rounds
    return recipe.sample_dp_noise(
        scenario.training, budget, rounds, rows, orgs_per_step, rate, where
    )


def at_org(name: str) -> str:
    return f" at organization {name!r}"


#: ``where`` of the centralized arm's pooled rows.
POOLED = " pooled for the centralized arm"


def federated_noise(
    scenario: Scenario, rows: dict[str, int]
) -> tuple[dict[str, float], float, int]:
    """Each organization's DP-SGD noise multiplier (``rows``: its training rows), the Poisson
    rate they share and the rows it is over (0, 0: each calibrates on its own rows).
    Distributed DP-SGD calibrates one multiplier on all organizations' rows, of which each
    adds a share."""
    budget = scenario.privacy.sample_dp
    if not budget.distributed:
        return (
            {name: dp_noise(scenario, n, 1, where=at_org(name)) for name, n in rows.items()},
            0.0,
            0,
        )
    pooled = sum(rows.values())
    rate = recipe.federation_rate(scenario.training, budget, pooled)
    noise = dp_noise(scenario, pooled, 1, rate, " over all organizations (distributed DP-SGD)")
    return dict.fromkeys(rows, noise), rate, pooled


def centralized_rate(scenario: Scenario, rows: int, orgs: int) -> float:
    """The centralized arm's Poisson rate on the pooled ``rows`` (0: its own batch size's).
    Under distributed DP-SGD it takes, as always, one step per organization a round, each at
    the federation's rate divided among the ``orgs``: the rows the federation's one step
    draws, in as many steps as it has organizations (one step a round, without the
    federation's server optimizer, would train it with plain SGD)."""
    rate = recipe.federation_rate(scenario.training, scenario.privacy.sample_dp, rows)
    return rate / orgs


def dp_spent(
    scenario: Scenario,
    noise: float,
    rows: int,
    steps: int,
    orgs_per_step: int = 1,
    rate: float = 0.0,
    shared: bool = False,
) -> dict:
    """What a DP-SGD run spent, from the accountant (empty when DP is off), epsilons rounded
    up (``epsilon_rounded_up``); with DP statistics, ``epsilon`` is their composition with the
    steps taken (``epsilon_dp_sgd``: DP-SGD alone); ``rate`` as for :func:`dp_noise`,
    ``shared``: noise added in shares. ``epsilon_replace_one`` (``epsilon_dp_sgd_replace_one``
    with DP statistics): the DP-SGD steps' epsilon for replace-one neighbours."""
    budget = scenario.privacy.sample_dp
    spent = recipe.sample_dp_spent(scenario.training, budget, noise, rows, steps, rate, shared)
    if not spent:
        return spent
    rate = rate or recipe.own_rate(scenario.training, budget, rows)  # exact, not as reported
    replace = neighbours.replace_one_epsilon(noise, rate, steps, budget.delta)
    stats = stats_noise(scenario, noise, rows, orgs_per_step)
    spent["epsilon_rounded_up"] = True
    if not stats:
        return spent | {"epsilon_replace_one": replace}
    total = dp_stats.composed_epsilon(stats, noise, rate, steps, budget.delta)
    spent["epsilon_dp_sgd"] = spent["epsilon"]
    spent["epsilon_dp_sgd_replace_one"] = replace
    spent["statistics_noise_multiplier"] = round(stats, 6)
    spent["epsilon"] = neighbours.epsilon_up(total)
    return spent


def stats_noise(scenario: Scenario, train_noise: float, rows: int, orgs_per_step: int) -> float:
    """The preprocessing statistics' noise multiplier of an organization whose DP-SGD runs at
    ``train_noise`` on ``rows`` rows (0: statistics released without noise)."""
    budget = scenario.privacy.sample_dp
    if not (budget.enabled and budget.stats_epsilon_share and train_noise > 0):
        return 0.0
    steps = scenario.rounds * steps_per_round(scenario, rows, orgs_per_step)
    rate = min(1.0, training(scenario).batch_size / rows)
    return dp_stats.calibrate_stats_noise(
        float(budget.epsilon), budget.delta, train_noise, rate, steps
    )


def curve_rounds(scenario: Scenario) -> set[int]:
    points = min(scenario.evaluation.curve_points, scenario.rounds)
    return {int(r) for r in np.linspace(1, scenario.rounds, points).round()}


def federate(
    scenario: Scenario,
    network: nn.Module,
    initial: Params,
    shards: list[Shard],
    shard_plan: Callable[[Shard, int], TrainingPlan],
    on_round: Callable[[int, Params], None],
    server_lr: float | None = None,
    inputs: Inputs | None = None,
    wrap: Callable[[Transport], Transport] | None = None,
) -> FederatedResult:
    """``run_federated`` with the scenario's strategy, sampling, rounds, seed and protection
    (with its simulated adversaries and robust rule when it configures them); ``wrap``: the
    sites' acceptance gates."""
    if scenario.adversary is not None or scenario.robustness is not None:
        return run_under_threat(
            scenario, network, initial, shards, shard_plan, on_round, server_lr, inputs, wrap
        )
    s = scenario.strategy
    return run_federated(
        network,
        initial,
        shards,
        shard_plan,
        recipe.strategy(s, protection_plan(scenario), server_lr),
        scenario.rounds,
        fraction=s.fraction,
        min_orgs=s.min_orgs,
        seed=scenario.seed,
        on_round=on_round,
        wrap=wrap,
        release_average=scenario.training.release_average,
    )


def protection_plan(scenario: Scenario) -> ProtectionPlan | None:
    """How updates are protected on their way to the coordinator (None: sent in clear)."""
    return recipe.protection_plan(scenario.privacy, scenario.seed)


def federated_preprocessor(frames: list[FeatureFrame], buckets: int) -> Preprocessor:
    """Fit from each organization's summaries, merged: no rows leave an organization."""
    return fit_preprocessor(merge_stats([local_stats(f) for f in frames]), buckets)

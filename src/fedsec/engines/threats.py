"""A federated run with simulated adversaries and/or a robust aggregation rule, in-process.

:func:`run_under_threat` is :func:`fedsec.engines.inprocess.run_federated` for scenarios with an
``[adversary]`` or ``[robustness]`` section: the in-process transport wrapped by
:class:`~fedsec.engines.adversary.AdversarialTransport`, the strategy aggregating through
:class:`~fedsec.fl.robustness.RobustAggregation`. Scenarios without either section never come
here, so their runs are exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from torch import nn

from fedsec.core import seeding
from fedsec.engines.adversary import AdversarialTransport, poison_shard, trigger_columns
from fedsec.engines.inprocess import FederatedResult, InProcessTransport, Shard
from fedsec.engines.root_data import root_set, simulated_rows
from fedsec.features.preprocess import Preprocessor
from fedsec.fl import recipe
from fedsec.fl.aggregation.grouped import GroupedSecureAggregation
from fedsec.fl.loop import Transport, run_rounds
from fedsec.fl.robustness import RootUpdate, build_rule, robust_aggregation
from fedsec.fl.robustness.base import flatten, unflatten
from fedsec.fl.strategies import Strategy, from_config
from fedsec.scenarios.adversary import DATA_ATTACKS, dishonest_orgs
from fedsec.scenarios.config import Scenario
from fedsec.training.local import local_update
from fedsec.training.params import Params, get_params
from fedsec.training.plan import TrainingPlan


@dataclass
class Inputs:
    """What the model sees, for triggers and root data: its input names, its classes and the
    preprocessor that encodes raw flows (None for tasks without labelled flows)."""

    names: list[str]
    classes: list[str]
    preprocessor: Preprocessor | None = None


@dataclass
class ThreatResult(FederatedResult):
    """A federated result plus who attacked and what the defence did each round."""

    dishonest: list[str] = field(default_factory=list)
    trigger: dict[int, float] = field(default_factory=dict)
    defence: list[dict] = field(default_factory=list)


def run_under_threat(
    scenario: Scenario,
    network: nn.Module,
    initial: Params,
    shards: list[Shard],
    shard_plan: Callable[[Shard, int], TrainingPlan],
    on_round: Callable[[int, Params], None] | None,
    server_lr: float | None,
    inputs: Inputs | None,
    wrap: Callable[[Transport], Transport] | None = None,
) -> ThreatResult:
    rows = {shard.name: shard.registered_rows() for shard in shards}
    strategy = _strategy(scenario, network, rows, shards, shard_plan, server_lr, inputs)
    transport: Transport = InProcessTransport(network, shards, shard_plan)
    dishonest, trigger = [], {}
    if scenario.adversary is not None:
        transport, dishonest, trigger = _attacked(scenario, transport, shards, inputs)
    if wrap is not None:  # the honest sites' acceptance gates, in front of everyone
        transport = wrap(transport)
    s = scenario.strategy
    result = run_rounds(
        strategy,
        transport,
        initial,
        rows,
        scenario.rounds,
        fraction=s.fraction,
        min_orgs=s.min_orgs,
        seed=scenario.seed,
        on_round=on_round,
        release_average=scenario.training.release_average,
    )
    log = getattr(strategy.aggregation, "log", [])
    return ThreatResult(
        result.params, result.history, dishonest, trigger, [r.to_json() for r in log]
    )


def _attacked(
    scenario: Scenario, inner: InProcessTransport, shards: list[Shard], inputs: Inputs | None
) -> tuple[AdversarialTransport, list[str], dict[int, float]]:
    adversary = scenario.adversary
    assert adversary is not None
    dishonest = dishonest_orgs(adversary, [s.name for s in shards], scenario.seed)
    if inputs is None:
        raise ValueError("[adversary] needs the model's inputs and classes")
    trigger = {}
    if adversary.kind == "backdoor":
        clip = None if inputs.preprocessor is None else inputs.preprocessor.clip
        trigger = trigger_columns(adversary, inputs.names, clip)
    poisoned = {}
    if adversary.kind in DATA_ATTACKS:
        poisoned = {
            s.name: poison_shard(s, adversary, inputs.classes, trigger, scenario.seed)
            for s in shards
            if s.name in dishonest
        }
    return (
        AdversarialTransport(inner, adversary, dishonest, poisoned, scenario.seed),
        dishonest,
        trigger,
    )


def _strategy(
    scenario: Scenario,
    network: nn.Module,
    rows: dict[str, int],
    shards: list[Shard],
    shard_plan: Callable[[Shard, int], TrainingPlan],
    server_lr: float | None,
    inputs: Inputs | None,
) -> Strategy:
    config = scenario.robustness
    if config is None:  # adversaries against the configured (possibly protected) mean
        protection = recipe.protection_plan(scenario.privacy, scenario.seed)
        return recipe.strategy(scenario.strategy, protection, server_lr)
    root = None
    if config.rule == "fltrust":
        root = _root_update(scenario, network, shards[0], shard_plan, inputs)
    group_size = scenario.privacy.secagg_group_size
    if group_size is not None:  # secure sums in groups, the rule across them
        plan = recipe.protection_plan(scenario.privacy, scenario.seed)
        assert plan is not None
        # as deployed: the statistics are secure sums, so no site's own rows are known and
        # each group weighs the weight inside its sum (docs/robustness.md)
        grouped = GroupedSecureAggregation(
            build_rule(config, seed=scenario.seed), plan, group_size, list(rows)
        )
        return from_config(scenario.strategy, server_lr, grouped)
    return from_config(
        scenario.strategy, server_lr, robust_aggregation(config, rows, root, scenario.seed)
    )


def _root_update(
    scenario: Scenario,
    network: nn.Module,
    template: Shard,
    shard_plan: Callable[[Shard, int], TrainingPlan],
    inputs: Inputs | None,
) -> RootUpdate:
    """The coordinator's own change each round: local training on its synthetic root rows,
    with the sites' training plan (its own seed)."""
    if inputs is None or inputs.preprocessor is None or scenario.data is None:
        raise ValueError('robustness.rule = "fltrust" needs task = "classification"')
    assert scenario.robustness is not None
    rows = scenario.robustness.root_rows
    frame, families = simulated_rows(scenario.data.view, rows, scenario.seed)
    frame, y = root_set(frame, families, inputs.classes, rows)
    root = Shard("coordinator", inputs.preprocessor.transform(frame), y)
    rounds = iter(range(1, 1_000_000))
    like = get_params(network)

    def update(global_flat: np.ndarray) -> np.ndarray:
        round_ = next(rounds)
        plan = replace(
            shard_plan(template, round_),
            seed=seeding.derive_seed(scenario.seed, "fltrust", round_),
            dp_noise_multiplier=0.0,
        )
        params = unflatten(global_flat, like)
        trained = local_update(network, params, root.x, root.y, plan).params
        return flatten(trained) - global_flat

    return update

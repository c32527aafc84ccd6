"""Train the DeepLog model in the three arms on identical splits and budgets.

* ``centralized``: one model on every organization's normal windows pooled;
* ``local``: each organization alone, knowing only the events it saw itself;
* ``federated``: one model from the in-process engine; the known events are the union of the
  organizations' hashed token sets (token ids only, never template text).
As for the flow task, a round is ``local_steps`` mini-batches per organization and the
centralized model trains as many mini-batches as all organizations together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fedsec.core import seeding
from fedsec.engines.inprocess import Shard
from fedsec.features.vocabulary import RESERVED, known_tokens
from fedsec.fl.loop import participation
from fedsec.models.deeplog import (
    DeepLogDetector,
    DeepLogSpec,
    build_deeplog,
    session_windows,
    sessions_ids,
)
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.logs import LogFederation, LogOrg
from fedsec.tasks.federate import TrainedArm, curve_rounds, federate, plan
from fedsec.training.local import local_update
from fedsec.training.params import Params, get_params, set_params

Progress = Callable[[str], None]


@dataclass
class Validation:
    """Distinct (window, next event) pairs of normal validation sessions, with their counts."""

    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> Validation:
        if len(x) == 0:
            return cls(x, y, np.zeros(0))
        pairs, counts = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)
        return cls(pairs[:, :-1], pairs[:, -1], counts.astype(float))


@dataclass
class OrgWindows:
    """One organization's training and validation pairs under one token index."""

    name: str
    x: np.ndarray
    y: np.ndarray
    val: Validation


@dataclass
class ArmData:
    """What an arm trains on: the token index (the model's vocabulary) and each org's pairs."""

    index: np.ndarray
    orgs: list[OrgWindows]


LogArm = TrainedArm[DeepLogDetector]


def model_spec(scenario: Scenario, index: np.ndarray) -> DeepLogSpec:
    logs = scenario.logs
    vocab = RESERVED + len(index)
    return DeepLogSpec(vocab, logs.window, logs.embedding, logs.hidden, logs.layers)


def org_known(org: LogOrg) -> np.ndarray:
    """The hashed tokens an organization saw in its training sessions (what it reports)."""
    return known_tokens(org.train.tokens)


def arm_data(federation: LogFederation, orgs: list[LogOrg], index: np.ndarray) -> ArmData:
    """Training and validation pairs of ``orgs`` with tokens mapped through ``index``."""
    logs = federation.scenario.logs
    out = []
    for org in orgs:
        train = sessions_ids(index, org.train.tokens)
        val = sessions_ids(index, org.val.tokens)
        x, y, _ = session_windows(train, logs.window, logs.end_token)
        vx, vy, _ = session_windows(val, logs.window, logs.end_token)
        out.append(OrgWindows(org.name, x, y, Validation.of(vx, vy)))
    return ArmData(index, out)


def shared_data(federation: LogFederation) -> ArmData:
    """The shared model's data: the union of the organizations' token sets as its vocabulary."""
    union = known_tokens([org_known(o) for o in federation.orgs])
    return arm_data(federation, federation.orgs, union)


def validation_loss(module: nn.Module, params: Params, parts: list[Validation]) -> float:
    """Mean next-event cross-entropy over normal validation windows (lower is better)."""
    set_params(module, params)
    module.eval()
    total, weight = 0.0, 0.0
    with torch.no_grad():
        for part in parts:
            if len(part.y) == 0:
                continue
            logits = module(torch.from_numpy(np.ascontiguousarray(part.x)))
            losses = nn.functional.cross_entropy(
                logits, torch.from_numpy(part.y), reduction="none"
            ).numpy()
            total += float(losses @ part.weight)
            weight += float(part.weight.sum())
    return round(total / weight, 6) if weight else float("nan")


def _detector(
    scenario: Scenario, spec: DeepLogSpec, params: Params, federation: LogFederation, index
) -> DeepLogDetector:
    logs = scenario.logs
    return DeepLogDetector(
        spec,
        federation.vocabulary,
        index,
        end_token=logs.end_token,
        score=logs.score,
        score_quantile=logs.score_quantile,
    ).set_weights(params)


def _network(scenario: Scenario, spec: DeepLogSpec, purpose: str) -> tuple[nn.Module, Params]:
    network = build_deeplog(spec, seeding.torch_generator(scenario.seed, "init", purpose))
    return network, get_params(network)


def train_centralized(scenario: Scenario, federation: LogFederation, tick: Progress) -> LogArm:
    started = time.perf_counter()
    data = shared_data(federation)
    orgs = data.orgs
    spec = model_spec(scenario, data.index)
    network, params = _network(scenario, spec, "global")
    x = np.concatenate([o.x for o in orgs])
    y = np.concatenate([o.y for o in orgs])
    marks, curve, seconds = curve_rounds(scenario), [], []
    for round_ in range(1, scenario.rounds + 1):
        t0 = time.perf_counter()
        seed = seeding.derive_seed(scenario.seed, "centralized", round_)
        round_plan = plan(scenario, None, len(orgs), 0.0, seed)
        params = local_update(network, params, x, y, round_plan).params
        seconds.append(time.perf_counter() - t0)
        if round_ in marks:
            curve.append((round_, validation_loss(network, params, [o.val for o in orgs])))
        tick("centralized")
    shared = _detector(scenario, spec, params, federation, data.index)
    return LogArm(
        "centralized",
        dict.fromkeys([o.name for o in orgs], shared),
        curve,
        time.perf_counter() - started,
        seconds,
    )


def train_local(scenario: Scenario, federation: LogFederation, tick: Progress) -> LogArm:
    started = time.perf_counter()
    data = {o.name: arm_data(federation, [o], org_known(o)) for o in federation.orgs}
    orgs = [d.orgs[0] for d in data.values()]
    specs = {name: model_spec(scenario, d.index) for name, d in data.items()}
    alone = {o.name: _network(scenario, specs[o.name], f"local/{o.name}") for o in orgs}
    params = {name: p for name, (_, p) in alone.items()}
    marks, curve, seconds = curve_rounds(scenario), [], []
    for round_ in range(1, scenario.rounds + 1):
        t0 = time.perf_counter()
        for org in orgs:
            seed = seeding.derive_seed(scenario.seed, "local", org.name, round_)
            round_plan = plan(scenario, None, 1, 0.0, seed)
            network = alone[org.name][0]
            params[org.name] = local_update(
                network, params[org.name], org.x, org.y, round_plan
            ).params
        seconds.append(time.perf_counter() - t0)
        if round_ in marks:
            losses = [validation_loss(alone[o.name][0], params[o.name], [o.val]) for o in orgs]
            weights = [o.val.weight.sum() for o in orgs]
            curve.append((round_, round(float(np.average(losses, weights=weights)), 6)))
        tick("local")
    models = {
        o.name: _detector(scenario, specs[o.name], params[o.name], federation, data[o.name].index)
        for o in orgs
    }
    return LogArm("local", models, curve, time.perf_counter() - started, seconds)


def train_federated(scenario: Scenario, federation: LogFederation, tick: Progress) -> LogArm:
    started = time.perf_counter()
    data = shared_data(federation)
    orgs = data.orgs
    spec = model_spec(scenario, data.index)
    network, initial = _network(scenario, spec, "global")
    shards = [Shard(o.name, o.x, o.y) for o in orgs]
    marks, curve = curve_rounds(scenario), []

    def on_round(round_: int, params: Params) -> None:
        if round_ in marks:
            curve.append((round_, validation_loss(network, params, [o.val for o in orgs])))
        tick("federated")

    result = federate(
        scenario,
        network,
        initial,
        shards,
        lambda shard, round_: plan(
            scenario, None, 1, 0.0, seeding.federated_seed(scenario.seed, shard.name, round_)
        ),
        on_round,
    )
    shared = _detector(scenario, spec, result.params, federation, data.index)
    return LogArm(
        "federated",
        dict.fromkeys([o.name for o in orgs], shared),
        curve,
        time.perf_counter() - started,
        [r.seconds for r in result.history],
        protection_seconds=[r.protection_seconds for r in result.history],
        participation=participation(result.history),
    )


TRAINERS: dict[str, Callable[[Scenario, LogFederation, Progress], LogArm]] = {
    "centralized": train_centralized,
    "local": train_local,
    "federated": train_federated,
}

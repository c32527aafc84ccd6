"""Train the three arms on identical splits and budgets.

* ``centralized``: one model on the pooled training data (what sharing everything would give);
* ``local``: each organization alone, with its own preprocessing and its own label set;
* ``federated``: one model trained by the in-process engine from federated statistics.
Each arm's model starts from a :class:`~fedsec.tasks.classification.learner.Learner`.
Every arm processes the same number of training samples per round: an organization trains
``local_steps`` mini-batches (or ``local_epochs`` epochs), and the centralized model trains as
many mini-batches as all organizations together. Learning curves therefore share one x-axis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from sklearn.metrics import f1_score

from fedsec.core import seeding
from fedsec.data.taxonomy import family_order
from fedsec.engines.inprocess import Shard
from fedsec.engines.threats import Inputs, ThreatResult
from fedsec.features.preprocess import Preprocessor
from fedsec.fl import recipe
from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.judge import AcceptanceGate, Verdict, labels_at_fpr
from fedsec.fl.gate.transport import Judge, SiteGates
from fedsec.fl.loop import participation
from fedsec.fl.release import TailAverage
from fedsec.fl.robustness.range_guard import edge_copies
from fedsec.models.classifier import FamilyClassifier
from fedsec.scenarios.adversary import dishonest_orgs
from fedsec.scenarios.config import Scenario
from fedsec.tasks.classification.learner import Learner, OrgFrames, learner
from fedsec.tasks.federate import (
    POOLED,
    Progress,
    TrainedArm,
    at_org,
    centralized_rate,
    curve_rounds,
    dp_noise,
    dp_spent,
    federate,
    federated_noise,
    plan,
    steps_per_round,
)
from fedsec.training.local import local_update
from fedsec.training.params import Params

ArmModels = TrainedArm[FamilyClassifier]


def val_macro_f1(
    models: dict[str, FamilyClassifier], orgs: list[OrgFrames], encoded: dict[str, np.ndarray]
) -> float:
    """Validation macro-F1 (arg-max decision) on the same rows for every arm: all
    organizations' validation rows, each judged by each organization's model (one shared model
    judges them once). ``encoded[org]`` is those rows as that organization's model encodes them."""
    true = np.concatenate([o.y_val for o in orgs])
    judged: dict[int, np.ndarray] = {}
    for o in orgs:
        model = models[o.name]
        if id(model) not in judged:
            proba = model.proba_from_matrix(encoded[o.name])
            judged[id(model)] = model.labels_from_proba(proba, None)
    pred = np.concatenate(list(judged.values()))
    truth = np.tile(true, len(judged))
    return round(
        float(f1_score(truth, pred, labels=family_order(true), average="macro", zero_division=0)),
        6,
    )


def pooled_val(pre: Preprocessor, orgs: list[OrgFrames]) -> np.ndarray:
    """Every organization's validation rows, encoded by one preprocessor."""
    return np.concatenate([pre.transform(o.val.frame) for o in orgs])


def released_model(scenario: Scenario) -> TailAverage:
    """What an arm releases: its last round's model, or the mean over its last rounds
    (``training.release_average``), the rule the federated arm's round loop applies."""
    return TailAverage.of(scenario.training.release_average, scenario.rounds)


def train_centralized(scenario: Scenario, orgs: list[OrgFrames], tick: Progress) -> ArmModels:
    started = time.perf_counter()
    shared = learner(scenario, orgs, "global", pooled=True)
    x = np.concatenate([shared.pre.transform(o.train.frame) for o in orgs])
    y = np.concatenate([shared.encode_labels(o.y_train) for o in orgs])
    val = dict.fromkeys([o.name for o in orgs], pooled_val(shared.pre, orgs))
    per_step = len(orgs)
    rate = centralized_rate(scenario, len(x), per_step)
    noise = dp_noise(scenario, len(x), per_step, rate, POOLED)
    marks, curve, rounds_s = curve_rounds(scenario), [], []
    release = released_model(scenario)
    for round_ in range(1, scenario.rounds + 1):
        t0 = time.perf_counter()
        round_plan = plan(
            scenario,
            shared.weights,
            per_step,
            noise,
            seeding.derive_seed(scenario.seed, "centralized", round_),
            sample_rate=rate,
        )
        shared.params = local_update(shared.network, shared.params, x, y, round_plan).params
        release.observe(round_, shared.params)
        rounds_s.append(time.perf_counter() - t0)
        if round_ in marks:
            clf = shared.classifier(scenario)
            curve.append(
                (round_, val_macro_f1(dict.fromkeys([o.name for o in orgs], clf), orgs, val))
            )
        tick("centralized")
    shared.params = release.released(shared.params)
    clf = shared.classifier(scenario)
    steps = scenario.rounds * steps_per_round(scenario, len(x), per_step)
    return ArmModels(
        "centralized",
        dict.fromkeys([o.name for o in orgs], clf),
        curve,
        time.perf_counter() - started,
        rounds_s,
        {"pooled": dp_spent(scenario, noise, len(x), steps, per_step, rate)},
    )


def train_local(scenario: Scenario, orgs: list[OrgFrames], tick: Progress) -> ArmModels:
    started = time.perf_counter()
    alone = {o.name: learner(scenario, [o], f"local/{o.name}") for o in orgs}
    data = {
        o.name: (alone[o.name].pre.transform(o.train.frame), alone[o.name].encode_labels(o.y_train))
        for o in orgs
    }
    val = {o.name: pooled_val(alone[o.name].pre, orgs) for o in orgs}
    noise = {o.name: dp_noise(scenario, len(o.y_train), 1, where=at_org(o.name)) for o in orgs}
    marks, curve, rounds_s = curve_rounds(scenario), [], []
    releases = {o.name: released_model(scenario) for o in orgs}
    for round_ in range(1, scenario.rounds + 1):
        t0 = time.perf_counter()
        for org in orgs:
            solo = alone[org.name]
            x, y = data[org.name]
            seed = seeding.derive_seed(scenario.seed, "local", org.name, round_)
            round_plan = plan(scenario, solo.weights, 1, noise[org.name], seed)
            solo.params = local_update(solo.network, solo.params, x, y, round_plan).params
            releases[org.name].observe(round_, solo.params)
        rounds_s.append(time.perf_counter() - t0)
        if round_ in marks:
            models = {name: solo.classifier(scenario) for name, solo in alone.items()}
            curve.append((round_, val_macro_f1(models, orgs, val)))
        tick("local")
    for name, solo in alone.items():
        solo.params = releases[name].released(solo.params)
    models = {name: solo.classifier(scenario) for name, solo in alone.items()}
    spent = {
        o.name: dp_spent(
            scenario,
            noise[o.name],
            len(o.y_train),
            scenario.rounds * steps_per_round(scenario, len(o.y_train), 1),
        )
        for o in orgs
    }
    return ArmModels("local", models, curve, time.perf_counter() - started, rounds_s, spent)


def train_federated(scenario: Scenario, orgs: list[OrgFrames], tick: Progress) -> ArmModels:
    started = time.perf_counter()
    shared = learner(scenario, orgs, "global", secure=scenario.privacy.secure_aggregation)
    shards = guarded_shards(scenario, shared, orgs)
    val = dict.fromkeys([o.name for o in orgs], pooled_val(shared.pre, orgs))
    marks, curve = curve_rounds(scenario), []

    def on_round(round_: int, params: Params) -> None:
        if round_ in marks:
            clf = replace(shared, params=params).classifier(scenario)
            curve.append(
                (round_, val_macro_f1(dict.fromkeys([o.name for o in orgs], clf), orgs, val))
            )
        tick("federated")

    noise, rate, pooled = federated_noise(scenario, {o.name: len(o.y_train) for o in orgs})
    budget = scenario.privacy.sample_dp
    gates = site_gates(scenario, shared, orgs)
    result = federate(
        scenario,
        shared.network,
        shared.params,
        shards,
        lambda shard, round_: plan(
            scenario,
            shared.weights,
            1,
            recipe.noise_share(budget, noise[shard.name]),
            seeding.federated_seed(scenario.seed, shard.name, round_),
            sample_rate=rate,
        ),
        on_round,
        inputs=Inputs(shared.pre.names, shared.classes, shared.pre),
        wrap=None if gates is None else gates.wrap,
    )
    clf = replace(shared, params=result.params).classifier(scenario)
    done = {o.name: sum(r.steps.get(o.name, 0) for r in result.history) for o in orgs}
    spent = {
        o.name: dp_spent(
            scenario, noise[o.name], pooled or len(o.y_train), done[o.name], rate=rate, shared=True
        )
        for o in orgs
    }
    return ArmModels(
        "federated",
        dict.fromkeys([o.name for o in orgs], clf),
        curve,
        time.perf_counter() - started,
        [r.seconds for r in result.history],
        spent,
        [r.protection_seconds for r in result.history],
        result if isinstance(result, ThreatResult) else None,
        None if gates is None else gates.record.summary(),
        participation(result.history),
    )


def guarded_shards(scenario: Scenario, shared: Learner, orgs: list[OrgFrames]) -> list[Shard]:
    """Each organization's encoded training rows; under ``[range_guard]`` every honest one adds
    its edge copies (a dishonest organization controls its own training and skips them)."""
    guard, shards = scenario.range_guard, []
    dishonest = _dishonest(scenario, [o.name for o in orgs])
    for org in orgs:
        x, y = shared.pre.transform(org.train.frame), shared.encode_labels(org.y_train)
        if guard is None or org.name in dishonest:
            shards.append(Shard(org.name, x, y))
            continue
        edged_x, edged_y = edge_copies(x, y, shared.pre.names, guard, scenario.seed, org.name)
        shards.append(Shard(org.name, edged_x, edged_y, rows=len(y)))
    return shards


def _dishonest(scenario: Scenario, names: list[str]) -> list[str]:
    adversary = scenario.adversary
    return [] if adversary is None else dishonest_orgs(adversary, names, scenario.seed)


def site_gates(scenario: Scenario, shared: Learner, orgs: list[OrgFrames]) -> SiteGates | None:
    """Every honest organization's acceptance gate (``[gate]``), judging each global model on
    its own validation rows as a deployed site does (dishonest organizations never refuse)."""
    config = scenario.gate
    if config is None or not config.enabled:
        return None
    dishonest = _dishonest(scenario, [o.name for o in orgs])
    judges = {o.name: _judge(scenario, shared, o, config) for o in orgs if o.name not in dishonest}
    return SiteGates(judges)


def _judge(scenario: Scenario, shared: Learner, org: OrgFrames, config: GateConfig) -> Judge:
    gate = AcceptanceGate(config, seeding.derive_seed(scenario.seed, "gate", org.name))
    x, y = shared.pre.transform(org.val.frame), np.asarray(org.y_val, dtype=object)

    def judge(round_: int, params: Params) -> Verdict:
        model = replace(shared, params=params).classifier(scenario)
        predicted = labels_at_fpr(model, model.proba_from_matrix(x), y, config.target_fpr)
        return gate.judge(round_, y, predicted)

    return judge


TRAINERS: dict[str, Callable[[Scenario, list[OrgFrames], Progress], ArmModels]] = {
    "centralized": train_centralized,
    "local": train_local,
    "federated": train_federated,
}

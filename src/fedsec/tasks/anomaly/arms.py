"""Train the anomaly arms on benign rows only, with identical per-round budgets.

For every deep model (``ae``, ``svdd``) and every setting of ``evaluation.arms``:

* ``federated_<model>``: one network trained by the in-process engine on every organization's
  benign training rows; preprocessing, the Deep SVDD centre and the error scale come from
  per-organization summaries (sums and counts), never rows;
* ``local_<model>``: each organization alone, with its own preprocessing;
* ``centralized_<model>``: one network on the pooled benign rows (what sharing would give).

Attack rows of the training splits are discarded, never used as labels. As in the supervised
arms, an organization trains ``local_steps`` mini-batches a round and the centralized network as
many as all organizations together. ``local_iforest`` / ``centralized_iforest`` are
scikit-learn IsolationForests, the classical baseline (there is no federated IsolationForest).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fedsec.core import seeding
from fedsec.data.flows import FeatureFrame
from fedsec.data.taxonomy import BENIGN
from fedsec.engines.inprocess import Shard
from fedsec.features.preprocess import Preprocessor, fit_preprocessor
from fedsec.fl.loop import participation
from fedsec.fl.privacy.secure_stats import OrgRows, secure_statistics
from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.detectors import new_detector
from fedsec.models.iforest import IsolationForestDetector
from fedsec.models.one_class import ScoredByThreshold
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import Federation
from fedsec.tasks.federate import (
    POOLED,
    TrainedArm,
    at_org,
    curve_rounds,
    dp_noise,
    dp_spent,
    federate,
    federated_preprocessor,
    plan,
    steps_per_round,
)
from fedsec.training.local import local_update

Progress = Callable[[str], None]
SETTINGS: tuple[str, ...] = ("centralized", "local", "federated")


@dataclass
class OrgBenign:
    """One organization's benign rows: training (the model) and validation (thresholds)."""

    name: str
    train: FeatureFrame
    val: FeatureFrame


@dataclass(kw_only=True)
class AnomalyArm(TrainedArm[ScoredByThreshold]):
    """A trained arm ``<setting>_<model>``."""

    setting: str
    model: str

    @property
    def shared(self) -> bool:
        return self.setting != "local"


def benign_frames(federation: Federation) -> list[OrgBenign]:
    view = federation.view
    out = []
    for org in federation.orgs:
        train = org.train.take(np.flatnonzero(org.train.family == BENIGN))
        val = org.val.take(np.flatnonzero(org.val.family == BENIGN))
        if len(train) == 0:
            raise ValueError(f"organization {org.name!r} has no benign training rows")
        out.append(OrgBenign(org.name, train.features(view), val.features(view)))
    return out


def arm_names(scenario: Scenario) -> list[str]:
    """``<setting>_<model>`` for every deep model and setting, then the IsolationForests."""
    cfg = scenario.anomaly
    settings = [s for s in SETTINGS if s in scenario.evaluation.arms]
    names = [f"{s}_{m}" for m in cfg.models for s in settings] if cfg else []
    if cfg and cfg.iforest:
        names += [f"{s}_iforest" for s in ("local", "centralized") if s in settings]
    return names


def _fresh(scenario: Scenario, kind: str, pre: Preprocessor, purpose: str) -> AnomalyDetector:
    """A fresh network: the shared one (``purpose`` "global") or an organization's own
    (``local/<org>``), whose autoencoder code the model caps to its own data's width."""
    cfg = scenario.anomaly
    size = cfg.bottleneck if kind == "ae" else cfg.svdd_dim
    generator = seeding.torch_generator(scenario.seed, "init", purpose, kind)
    return new_detector(
        kind,
        pre,
        scenario.data.view,
        cfg.hidden,
        size,
        generator,
        shared=purpose == "global",
        error_floor=cfg.error_floor,
    )


def _finish(det: AnomalyDetector, params: list, xs: list[np.ndarray]) -> AnomalyDetector:
    """Final parameters and the error scale from each party's error sums."""
    det.set_weights(params)
    return det.set_scale([det.error_sums(x) for x in xs])


def _marks(scenario: Scenario, losses: dict[int, float]) -> list[tuple[int, float]]:
    return [(r, round(losses[r], 6)) for r in sorted(curve_rounds(scenario)) if r in losses]


def train_federated(
    scenario: Scenario, orgs: list[OrgBenign], kind: str, tick: Progress
) -> AnomalyArm:
    name, started = f"federated_{kind}", time.perf_counter()
    pre = _federated_preprocessor(scenario, orgs)
    det = _fresh(scenario, kind, pre, "global")
    xs = {o.name: pre.transform(o.train.frame) for o in orgs}
    det.prepare(list(xs.values()))
    shards = [Shard(n, x, np.zeros(len(x), np.int64)) for n, x in xs.items()]
    s, cfg = scenario.strategy, scenario.anomaly
    server_lr = cfg.svdd_server_lr if kind == "svdd" and cfg.svdd_server_lr else s.server_lr
    noise = {n: dp_noise(scenario, len(x), 1, where=at_org(n)) for n, x in xs.items()}
    result = federate(
        scenario,
        det.module(),
        det.get_weights(),
        shards,
        lambda shard, r: det.objective(
            plan(
                scenario,
                None,
                1,
                noise[shard.name],
                seeding.federated_seed(scenario.seed, shard.name, r, kind=kind),
            )
        ),
        lambda _r, _p: tick(name),
        server_lr,
    )
    final = _finish(det, result.params, list(xs.values()))
    curve = _marks(scenario, {r.round: r.loss for r in result.history})
    shared = dict.fromkeys([o.name for o in orgs], final)
    done = {n: sum(r.steps.get(n, 0) for r in result.history) for n in xs}
    spent = {n: dp_spent(scenario, noise[n], len(x), done[n]) for n, x in xs.items()}
    return AnomalyArm(
        name,
        shared,
        curve,
        time.perf_counter() - started,
        privacy=spent,
        protection_seconds=[r.protection_seconds for r in result.history],
        participation=participation(result.history),
        setting="federated",
        model=kind,
    )


def _federated_preprocessor(scenario: Scenario, orgs: list[OrgBenign]) -> Preprocessor:
    """Preprocessing from the organizations' summaries: by secure sums when the scenario
    protects updates with secure aggregation (as a deployment would), in clear otherwise."""
    buckets = scenario.model.hash_buckets
    if not scenario.privacy.secure_aggregation:
        return federated_preprocessor([o.train for o in orgs], buckets)
    rows = [OrgRows(o.name, o.train, np.full(len(o.train), BENIGN)) for o in orgs]
    return fit_preprocessor(secure_statistics(rows, scenario.privacy.secagg_threshold)[0], buckets)


def train_centralized(
    scenario: Scenario, orgs: list[OrgBenign], kind: str, tick: Progress
) -> AnomalyArm:
    name, started = f"centralized_{kind}", time.perf_counter()
    pre = federated_preprocessor([o.train for o in orgs], scenario.model.hash_buckets)
    det = _fresh(scenario, kind, pre, "global")
    xs = [pre.transform(o.train.frame) for o in orgs]
    pooled = np.concatenate(xs)
    det.prepare(xs)
    zeros = np.zeros(len(pooled), np.int64)
    params, losses = det.get_weights(), {}
    noise = dp_noise(scenario, len(pooled), len(orgs), where=POOLED)
    for round_ in range(1, scenario.rounds + 1):
        seed = seeding.derive_seed(scenario.seed, "centralized", kind, round_)
        round_plan = plan(scenario, None, len(orgs), noise, seed)
        update = local_update(det.module(), params, pooled, zeros, det.objective(round_plan))
        params, losses[round_] = update.params, update.metrics["loss"]
        tick(name)
    final = _finish(det, params, xs)
    shared = dict.fromkeys([o.name for o in orgs], final)
    steps = scenario.rounds * steps_per_round(scenario, len(pooled), len(orgs))
    return AnomalyArm(
        name,
        shared,
        _marks(scenario, losses),
        time.perf_counter() - started,
        privacy={"pooled": dp_spent(scenario, noise, len(pooled), steps)},
        setting="centralized",
        model=kind,
    )


def train_local(scenario: Scenario, orgs: list[OrgBenign], kind: str, tick: Progress) -> AnomalyArm:
    name, started = f"local_{kind}", time.perf_counter()
    dets, xs = {}, {}
    for o in orgs:
        pre = federated_preprocessor([o.train], scenario.model.hash_buckets)
        dets[o.name] = _fresh(scenario, kind, pre, f"local/{o.name}")
        xs[o.name] = pre.transform(o.train.frame)
        dets[o.name].prepare([xs[o.name]])
    params = {n: d.get_weights() for n, d in dets.items()}
    noise = {n: dp_noise(scenario, len(x), 1, where=at_org(n)) for n, x in xs.items()}
    losses: dict[int, float] = {}
    for round_ in range(1, scenario.rounds + 1):
        total = 0.0
        for o in orgs:
            d, x = dets[o.name], xs[o.name]
            seed = seeding.derive_seed(scenario.seed, "local", kind, o.name, round_)
            round_plan = plan(scenario, None, 1, noise[o.name], seed)
            update = local_update(
                d.module(),
                params[o.name],
                x,
                np.zeros(len(x), np.int64),
                d.objective(round_plan),
            )
            params[o.name] = update.params
            total += update.metrics["loss"] * len(x)
        losses[round_] = total / sum(len(x) for x in xs.values())
        tick(name)
    models = {n: _finish(d, params[n], [xs[n]]) for n, d in dets.items()}
    spent = {
        n: dp_spent(
            scenario, noise[n], len(x), scenario.rounds * steps_per_round(scenario, len(x), 1)
        )
        for n, x in xs.items()
    }
    return AnomalyArm(
        name,
        models,
        _marks(scenario, losses),
        time.perf_counter() - started,
        privacy=spent,
        setting="local",
        model=kind,
    )


def train_iforest(scenario: Scenario, orgs: list[OrgBenign], setting: str) -> AnomalyArm:
    """IsolationForest on each organization's benign rows (local) or the pooled ones."""
    cfg, started = scenario.anomaly, time.perf_counter()
    buckets, view = scenario.model.hash_buckets, scenario.data.view

    def forest(pre: Preprocessor, *purpose: str) -> IsolationForestDetector:
        seed = seeding.derive_seed(scenario.seed, "iforest", *purpose)
        return IsolationForestDetector(pre, view, cfg.iforest_trees, cfg.iforest_samples, seed)

    if setting == "local":
        models: dict[str, ScoredByThreshold] = {}
        for o in orgs:
            pre = federated_preprocessor([o.train], buckets)
            models[o.name] = forest(pre, "local", o.name).fit(o.train.frame)
    else:
        pre = federated_preprocessor([o.train for o in orgs], buckets)
        pooled = np.concatenate([pre.transform(o.train.frame) for o in orgs])
        models = dict.fromkeys(
            [o.name for o in orgs], forest(pre, "centralized").fit_matrix(pooled)
        )
    return AnomalyArm(
        f"{setting}_iforest",
        models,
        seconds=time.perf_counter() - started,
        setting=setting,
        model="iforest",
    )


DEEP_TRAINERS: dict[str, Callable[[Scenario, list[OrgBenign], str, Progress], AnomalyArm]] = {
    "centralized": train_centralized,
    "local": train_local,
    "federated": train_federated,
}


def train_arm(scenario: Scenario, orgs: list[OrgBenign], name: str, tick: Progress) -> AnomalyArm:
    """The arm ``<setting>_<model>``."""
    setting, model = name.split("_", 1)
    if model == "iforest":
        arm = train_iforest(scenario, orgs, setting)
        for _ in range(scenario.rounds):
            tick(name)
        return arm
    return DEEP_TRAINERS[setting](scenario, orgs, model, tick)

"""The three arms for ``[model] kind = "xgboost"``: gradient-boosted trees.

Preprocessing, label set and class weights come from the same (federated) summaries as the
network's (:func:`~fedsec.tasks.classification.learner.learner`); ``rounds`` are boosting rounds.

* ``centralized``: one booster on the pooled rows;
* ``local``: each organization boosts alone, with its own preprocessing and label set;
* ``federated``: the organizations boost one model together through XGBoost's federated
  communicator (:mod:`fedsec.engines.xgb_federated`): the server sums their quantile sketches
  and gradient histograms, rows never leave a site.
"""

from __future__ import annotations

import time

import numpy as np

from fedsec.engines import xgb_federated
from fedsec.engines.xgb_federated import Site, train_booster
from fedsec.models.trees import (
    TreeClassifier,
    booster_params,
    intercept_of,
    on_grid,
    weight_step,
)
from fedsec.scenarios.config import Scenario
from fedsec.tasks.classification.arms import ArmModels, pooled_val, val_macro_f1
from fedsec.tasks.classification.learner import Learner, OrgFrames, learner
from fedsec.tasks.federate import Progress, curve_rounds


def tree_classifier(scenario: Scenario, shared: Learner, model: bytes) -> TreeClassifier:
    return TreeClassifier(
        shared.pre, shared.classes, scenario.data.view, scenario.evaluation.decision
    ).set_model(model)


def site(shared: Learner, org: OrgFrames) -> Site:
    """One organization's encoded rows, class indices and class weights."""
    y = shared.encode_labels(org.y_train)
    weights = np.ones(len(shared.classes)) if shared.weights is None else shared.weights
    return Site(org.name, shared.pre.transform(org.train.frame), y, np.asarray(weights)[y])


def sites_of(shared: Learner, orgs: list[OrgFrames]) -> list[Site]:
    """Every organization's site, its sample weights on the grid of :func:`exact_weights`."""
    return exact_weights([site(shared, o) for o in orgs])


def exact_weights(sites: list[Site]) -> list[Site]:
    """The sites with every sample weight rounded to a multiple of ``2**-k``, ``k`` the largest
    for which twice the total weight is below ``2**(24 - k)``: then every rank XGBoost's quantile
    sketch sums in float32 (and every sum of two ranks) is exact, whatever the order of the rows
    or the sites. With exact summaries (``max_bin`` at least an eighth of a feature's distinct
    values) the merged federated sketch is then the pooled one, edge for edge; with unrounded
    weights it is only up to the float rounding of those sums, which moves edges of features
    with more distinct values than bins. ``k`` comes from the total weight (the per-family
    counts times the class weights, already shared); a weight never rounds to zero."""
    total = sum(float(np.sum(s.weight)) for s in sites)
    step = weight_step(total, sum(len(s.y) for s in sites))
    return [Site(s.name, s.x, s.y, on_grid(s.weight, step)) for s in sites]


def params(scenario: Scenario, shared: Learner, sites: list[Site]) -> dict:
    model = scenario.model
    settings = booster_params(
        len(shared.classes), model.max_depth, model.eta, model.max_bin, scenario.seed
    )
    return {**settings, "base_score": intercept(shared, sites)}


def intercept(shared: Learner, sites: list[Site]) -> list[float]:
    """The starting score of every arm alike: the log of each family's weighted share of the
    training rows, centered. XGBoost estimates this from the labels, but its federated estimate
    is not its pooled one (the fourth decimal), which later decides near-tie splits the other
    way; from the per-family weighted row counts (the organizations already share the counts,
    and each family's rows carry one weight), both arms start from the same numbers."""
    classes = len(shared.classes)
    weighted = sum(np.bincount(s.y, weights=s.weight, minlength=classes) for s in sites)
    return intercept_of(np.asarray(weighted, dtype=np.float64))


def curve(
    scenario: Scenario, models: dict[str, TreeClassifier], orgs: list[OrgFrames], encoded: dict
) -> list[tuple[int, float]]:
    """Validation macro-F1 after each curve round's number of trees (one booster, no retraining)."""
    points = []
    for round_ in sorted(curve_rounds(scenario)):
        truncated = {name: _Truncated(m, round_) for name, m in models.items()}
        points.append((round_, val_macro_f1(truncated, orgs, encoded)))
    return points


class _Truncated:
    """A tree model as it stood after its first ``trees`` boosting rounds."""

    def __init__(self, model: TreeClassifier, trees: int) -> None:
        self.model, self.trees = model, trees

    def proba_from_matrix(self, x: np.ndarray) -> np.ndarray:
        return self.model.proba_from_matrix(x, self.trees)

    def labels_from_proba(self, proba: np.ndarray, threshold: float | None) -> np.ndarray:
        return self.model.labels_from_proba(proba, threshold)


def _done(name: str, models: dict, scenario: Scenario, orgs, encoded, started, tick) -> ArmModels:
    points = curve(scenario, models, orgs, encoded)
    for _ in range(scenario.rounds):
        tick(name)
    seconds = time.perf_counter() - started
    per_round = [seconds / scenario.rounds] * scenario.rounds  # boosted in one call: the mean
    return ArmModels(name, models, points, seconds, per_round)


def train_centralized(scenario: Scenario, orgs: list[OrgFrames], tick: Progress) -> ArmModels:
    xgb_federated.require_xgboost()
    started = time.perf_counter()
    shared = learner(scenario, orgs, "global")
    sites = sites_of(shared, orgs)
    booster = train_booster(
        params(scenario, shared, sites),
        np.concatenate([s.x for s in sites]),
        np.concatenate([s.y for s in sites]),
        np.concatenate([s.weight for s in sites]),
        scenario.rounds,
    )
    model = tree_classifier(scenario, shared, bytes(booster.save_raw("ubj")))
    models = dict.fromkeys([o.name for o in orgs], model)
    encoded = dict.fromkeys([o.name for o in orgs], pooled_val(shared.pre, orgs))
    return _done("centralized", models, scenario, orgs, encoded, started, tick)


def train_local(scenario: Scenario, orgs: list[OrgFrames], tick: Progress) -> ArmModels:
    xgb_federated.require_xgboost()
    started = time.perf_counter()
    models, encoded = {}, {}
    for org in orgs:
        alone = learner(scenario, [org], f"local/{org.name}")
        (own,) = sites_of(alone, [org])
        settings = params(scenario, alone, [own])
        booster = train_booster(settings, own.x, own.y, own.weight, scenario.rounds)
        models[org.name] = tree_classifier(scenario, alone, bytes(booster.save_raw("ubj")))
        encoded[org.name] = pooled_val(alone.pre, orgs)
    return _done("local", models, scenario, orgs, encoded, started, tick)


def train_federated(scenario: Scenario, orgs: list[OrgFrames], tick: Progress) -> ArmModels:
    xgb_federated.require_xgboost()
    started = time.perf_counter()
    shared = learner(scenario, orgs, "global")
    sites = sites_of(shared, orgs)
    model = tree_classifier(
        scenario,
        shared,
        xgb_federated.train_federated(sites, params(scenario, shared, sites), scenario.rounds),
    )
    models = dict.fromkeys([o.name for o in orgs], model)
    encoded = dict.fromkeys([o.name for o in orgs], pooled_val(shared.pre, orgs))
    return _done("federated", models, scenario, orgs, encoded, started, tick)


TREE_TRAINERS = {
    "centralized": train_centralized,
    "local": train_local,
    "federated": train_federated,
}

"""What one model of the classification arms trains from: its organizations' frames and a
:class:`Learner` (preprocessing, label set, class weights and a fresh network) fitted on their
summaries, merged in clear or by secure sums, and noisy under DP statistics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from torch import nn

from fedsec.core import seeding
from fedsec.data.flows import FeatureFrame
from fedsec.data.taxonomy import family_order
from fedsec.features.moments import FeatureStats, local_stats, merge_stats
from fedsec.features.preprocess import (
    Preprocessor,
    fit_preprocessor,
    is_heavy_tailed,
    non_negative,
)
from fedsec.fl import recipe
from fedsec.fl.privacy import dp_stats
from fedsec.fl.privacy.secure_stats import OrgRows, secure_statistics
from fedsec.fl.robustness.range_guard import scoring_edge
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.scenarios.config import Scenario
from fedsec.tasks.federate import POOLED, at_org, dp_noise, stats_noise
from fedsec.training.params import Params, get_params


@dataclass
class OrgFrames:
    """One organization's feature frames and family labels, per split."""

    name: str
    train: FeatureFrame
    val: FeatureFrame
    y_train: np.ndarray
    y_val: np.ndarray


@dataclass
class Learner:
    """Everything one model needs to train: encoding, labels, network and current weights."""

    pre: Preprocessor
    classes: list[str]
    weights: tuple[float, ...] | None
    spec: MLPSpec
    network: nn.Module
    params: Params

    def classifier(self, scenario: Scenario) -> FamilyClassifier:
        return FamilyClassifier(
            self.spec,
            self.pre,
            self.classes,
            scenario.data.view,
            decision=scenario.evaluation.decision,
        ).set_weights(self.params)

    def encode_labels(self, labels: np.ndarray) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes)}
        return np.asarray([index[f] for f in labels], dtype=np.int64)


def class_weights(
    counts: Counter, classes: list[str], scenario: Scenario
) -> tuple[float, ...] | None:
    """Inverse (or square-root inverse) frequency weights, capped, mean weight 1 per sample."""
    return recipe.class_weights(counts, classes, scenario.model)


def summaries(
    scenario: Scenario, orgs: list[OrgFrames], secure: bool = False, pooled: bool = False
) -> tuple[FeatureStats, Counter]:
    """Feature summaries and rows per family of ``orgs``: merged in clear, or (``secure``) by
    the two secure sums a deployment under secure aggregation runs; with DP statistics
    (``privacy.sample_dp.stats_epsilon_share``) from noisy histograms, each organization's
    noise calibrated to its own DP-SGD (``pooled``: the centralized arm's one DP-SGD)."""
    rows = [OrgRows(o.name, o.train, o.y_train) for o in orgs]
    multipliers = stats_multipliers(scenario, orgs, pooled)
    if multipliers:
        noise = dp_stats.seeded_noise(
            seeding.derive_seed(scenario.seed, "pooled" if pooled else "per-org")
        )
        return dp_stats.dp_statistics(
            rows, multipliers, noise, secure, scenario.privacy.secagg_threshold
        )
    if secure:
        return secure_statistics(rows, scenario.privacy.secagg_threshold)
    counts: Counter = Counter()
    for org in orgs:  # each org shares its per-family row counts, nothing else
        counts.update(Counter(map(str, org.y_train)))
    return merge_stats([local_stats(o.train) for o in orgs]), counts


def stats_multipliers(scenario: Scenario, orgs: list[OrgFrames], pooled: bool) -> dict[str, float]:
    """Each organization's statistics noise multiplier (empty: statistics without noise).
    Without a statistics share no DP-SGD noise is calibrated here (seconds per organization,
    and distributed DP-SGD never uses an organization's own)."""
    budget = scenario.privacy.sample_dp
    if not (budget.enabled and budget.stats_epsilon_share):
        return {}
    if pooled:
        rows = sum(len(o.y_train) for o in orgs)
        noise = dp_noise(scenario, rows, len(orgs), where=POOLED)
        z = stats_noise(scenario, noise, rows, len(orgs))
        multipliers = dict.fromkeys([o.name for o in orgs], z)
    else:
        multipliers = {
            o.name: stats_noise(
                scenario,
                dp_noise(scenario, len(o.y_train), 1, where=at_org(o.name)),
                len(o.y_train),
                1,
            )
            for o in orgs
        }
    return multipliers if all(multipliers.values()) else {}


def learner(
    scenario: Scenario,
    orgs: list[OrgFrames],
    purpose: str,
    secure: bool = False,
    pooled: bool = False,
) -> Learner:
    """Preprocessing, label set and class weights from (federated) summaries; fresh network."""
    stats, counts = summaries(scenario, orgs, secure, pooled)
    noisy = bool(stats_multipliers(scenario, orgs, pooled))
    clip, recheck = scoring_edge(scenario.range_guard)
    pre = fit_preprocessor(
        stats,
        scenario.model.hash_buckets,
        clip,
        non_negative if noisy else is_heavy_tailed,
        recheck,
    )
    classes = family_order(counts)
    spec = MLPSpec(pre.width, len(classes), tuple(scenario.model.hidden), scenario.model.dropout)
    network = build_mlp(spec, seeding.torch_generator(scenario.seed, "init", purpose))
    return Learner(
        pre, classes, class_weights(counts, classes, scenario), spec, network, get_params(network)
    )

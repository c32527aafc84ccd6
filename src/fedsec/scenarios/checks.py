"""Checks of a scenario's sections against each other, beyond each section's own fields: what
boosted trees cannot honour, adversaries, robust rules, grouped secure aggregation, the gate and
the release rule. Each raises ValueError with the reason (pydantic reports it on the field)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fedsec.core import org_names
from fedsec.fl.strategies import strategy_class

if TYPE_CHECKING:
    from fedsec.scenarios.config import ScenarioBase


def check_trees(scenario: ScenarioBase) -> None:
    """Boosted trees: classification only, and nothing they cannot honour."""
    if scenario.model.kind != "xgboost":
        return
    if scenario.task != "classification":
        raise ValueError(
            f'model.kind "xgboost" is for task "classification", not {scenario.task!r}'
        )
    refused = [name for name, on in tree_refusals(scenario).items() if on]
    if refused:
        raise ValueError(
            f'model.kind "xgboost" cannot be combined with {", ".join(refused)}: '
            + "; ".join(TREE_REFUSALS[name] for name in refused)
        )


def check_org_names(scenario: ScenarioBase) -> None:
    """Every organization named by :mod:`fedsec.core.org_names`' rule, once (ignoring case):
    a name NVFlare would refuse at provisioning is refused when the scenario is read."""
    names = scenario.org_names()
    where = "partition.names"
    if scenario.partition.rule == "per-source":
        where = f"{'logs' if scenario.task == 'logs' else 'data'}.sources (their names)"
    for name in names:
        try:
            org_names.check(name)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    org_names.check_distinct(names, where)


def check_release(scenario: ScenarioBase) -> None:
    """Averaging the last rounds' models is implemented by the classification arms."""
    if scenario.training.release_average > 0 and scenario.task != "classification":
        raise ValueError(
            f"training.release_average applies to classification scenarios; task "
            f"{scenario.task!r} releases its last round's model"
        )


#: What boosted trees do not offer, and why a run asking for it is refused.
TREE_REFUSALS = {
    "privacy.secure_aggregation": "the coordinator would see every organization's gradient "
    "histograms in clear (XGBoost's federated communicator has no secure aggregation on CPU)",
    "privacy.homomorphic_encryption": "no encrypted histograms on CPU",
    "privacy.sample_dp": "no differential privacy for boosted trees",
    "privacy.client_dp": "no differential privacy for boosted trees",
    "adversary": "no robust aggregation of gradient histograms",
    "robustness": "no robust aggregation of gradient histograms",
    "gate": "no acceptance gate for boosted trees",
}


def tree_refusals(scenario: ScenarioBase) -> dict[str, bool]:
    privacy = scenario.privacy
    return {
        "privacy.secure_aggregation": privacy.secure_aggregation,
        "privacy.homomorphic_encryption": privacy.homomorphic_encryption,
        "privacy.sample_dp": privacy.sample_dp.enabled,
        "privacy.client_dp": privacy.client_dp.enabled,
        "adversary": scenario.adversary is not None,
        "robustness": scenario.robustness is not None,
        "gate": scenario.gate is not None and scenario.gate.enabled,
    }


def check_adversary(scenario: ScenarioBase) -> None:
    """The ``[adversary]`` and ``[robustness]`` sections fit the rest of the scenario."""
    adversary, robustness = scenario.adversary, scenario.robustness
    _check_groups(scenario)
    if scenario.gate is not None and scenario.gate.enabled:
        _check_gate(scenario)
    if robustness is not None:
        _check_robustness(scenario)
    if scenario.range_guard is not None:
        _check_range_guard(scenario)
    if adversary is None:
        return
    if scenario.task != "classification":
        raise ValueError('[adversary] is simulated for task = "classification" only')
    if "federated" not in scenario.evaluation.arms:
        raise ValueError("[adversary] needs the federated arm in evaluation.arms")
    names = scenario.org_names()
    unknown = [o for o in adversary.orgs if o not in names]
    if unknown:
        raise ValueError(f"adversary.orgs {unknown} are not organizations of this scenario {names}")
    dishonest = len(adversary.orgs) or adversary.count
    if dishonest >= len(names):
        raise ValueError(
            f"adversary: {dishonest} dishonest of {len(names)} organizations leaves none honest"
        )
    if adversary.start_round > scenario.rounds:
        raise ValueError(
            f"adversary.start_round {adversary.start_round} is after the last round "
            f"({scenario.rounds})"
        )


def _check_range_guard(scenario: ScenarioBase) -> None:
    """``[range_guard]``: the network classifier's federated training, without record-level DP
    (a site weighs itself by its own rows, its copies aside, in clear or protected)."""
    if scenario.task != "classification" or scenario.model.kind == "xgboost":
        raise ValueError('[range_guard] needs task = "classification" with the network model')
    privacy = scenario.privacy
    if privacy.sample_dp.enabled:
        raise ValueError(
            "[range_guard] cannot be combined with privacy.sample_dp: an edge copy is a copy of "
            "a record, so a record could reach DP-SGD twice and the accountant's per-record "
            "bound (and the reported ε) would not hold"
        )


def _check_groups(scenario: ScenarioBase) -> None:
    """Grouped secure aggregation: secure sums per group, the [robustness] rule across them."""
    privacy = scenario.privacy
    if privacy.secagg_group_size is None:
        return
    if not privacy.secure_aggregation or scenario.robustness is None:
        raise ValueError(
            "privacy.secagg_group_size needs privacy.secure_aggregation = true and a "
            "[robustness] section (the rule applied across the group sums)"
        )
    if strategy_class(scenario.strategy.name).sends_extras:
        raise ValueError(
            f"privacy.secagg_group_size cannot be combined with strategy "
            f"{scenario.strategy.name!r} (its extra arrays are not grouped)"
        )
    if scenario.robustness.rule == "fltrust":
        raise ValueError('privacy.secagg_group_size: robustness.rule = "fltrust" is not grouped')
    _check_groups_fill(scenario, privacy.secagg_group_size)


def _check_groups_fill(scenario: ScenarioBase, size: int) -> None:
    """Every fixed group is whole in every round: a group sums only its own members, so one
    missing a member sits the round out (the coordinator cannot regroup sites)."""
    orgs = scenario.org_count()
    if size > orgs:
        raise ValueError(
            f"privacy.secagg_group_size {size} exceeds the {orgs} organizations: no group "
            "could ever be summed"
        )
    if scenario.smallest_round() < orgs:
        raise ValueError(
            "privacy.secagg_group_size needs every organization in every round (strategy."
            f"fraction {scenario.strategy.fraction:g} selects {scenario.smallest_round()} of "
            f"{orgs}): each group sums only its own fixed members, so a group missing one "
            "that was not sampled would sit the round out"
        )


def _check_gate(scenario: ScenarioBase) -> None:
    if scenario.task != "classification":
        raise ValueError('[gate] is simulated for task = "classification" only')
    if "federated" not in scenario.evaluation.arms:
        raise ValueError("[gate] needs the federated arm in evaluation.arms")


def _check_robustness(scenario: ScenarioBase) -> None:
    privacy = scenario.privacy
    grouped = privacy.secure_aggregation and privacy.secagg_group_size is not None
    hidden = (privacy.secure_aggregation and not grouped) or privacy.homomorphic_encryption
    if hidden or privacy.client_dp.enabled:
        raise ValueError(
            "robustness: a robust rule reads each update in clear; it cannot be combined with "
            "privacy.secure_aggregation (unless in groups: privacy.secagg_group_size), "
            "privacy.homomorphic_encryption or privacy.client_dp (see docs/robustness.md)"
        )
    if scenario.robustness.rule == "fltrust" and scenario.task != "classification":
        raise ValueError('robustness.rule = "fltrust" needs task = "classification"')


def check_noise_shares(scenario: ScenarioBase) -> None:
    """Distributed DP-SGD: noise shares only protect a record inside a sum of at least ``m``
    single SGD steps that no one sees one by one."""
    privacy = scenario.privacy
    budget = privacy.sample_dp
    if not budget.distributed:
        return
    reasons = {
        f'task = "classification" (not {scenario.task!r})': scenario.task != "classification",
        "privacy.secure_aggregation (the coordinator must see only the sum; one update "
        "carries 1/sqrt(m) of the noise; not homomorphic encryption, whose decryptions the "
        "coordinator names: it can have one update decrypted alone)": not (
            privacy.secure_aggregation
        ),
        f'training.optimizer = "sgd" (a sum of {scenario.training.optimizer} steps is not '
        "one noised step)": scenario.training.optimizer != "sgd",
        f"noise_shares <= the {scenario.smallest_round()} organizations of a round": (
            budget.noise_shares > scenario.smallest_round()
        ),
        "no privacy.sample_dp.stats_epsilon_share (its statistics are per organization)": (
            budget.stats_epsilon_share > 0
        ),
        "no privacy.secagg_group_size (a robust rule sees group sums)": (
            privacy.secagg_group_size is not None
        ),
        "no [range_guard] (its edge copies are rows outside the shared rate)": (
            scenario.range_guard is not None
        ),
    }
    missing = [need for need, broken in reasons.items() if broken]
    if missing:
        raise ValueError("privacy.sample_dp.noise_shares needs " + "; ".join(missing))


def check_logit_adjustment(scenario: ScenarioBase) -> None:
    """The logit-adjusted loss uses the class weights as logit offsets, not as weights."""
    if scenario.model.class_weighting != "logit_adjusted":
        return
    budget = scenario.privacy.sample_dp
    if budget.class_sampling or budget.weigh_after_clipping:
        raise ValueError(
            'model.class_weighting = "logit_adjusted" shifts logits instead of weighting '
            "records: it cannot be combined with privacy.sample_dp.class_sampling or "
            "weigh_after_clipping"
        )

"""Secure sums in groups, a robust rule across the group sums: what the coordinator computes,
what it sees, and what it cannot make the sites do."""

import numpy as np
import pytest
from scipy.stats import chisquare

from fedsec.core.errors import ConfigError
from fedsec.engines.threats import _strategy
from fedsec.fl.aggregation.base import RoundAborted, SiteResult
from fedsec.fl.aggregation.grouped import GroupedSecureAggregation, fixed_groups, groups_of
from fedsec.fl.aggregation.weighted_mean import weighted_average
from fedsec.fl.privacy.protect import ProtectionPlan, payload
from fedsec.fl.privacy.secagg import SecAggError, checks
from fedsec.fl.privacy.secagg.encoding import encode
from fedsec.fl.robustness import CoordinateMedian, Mean
from fedsec.fl.robustness.base import Decision
from fedsec.scenarios.loading import load_scenario
from fedsec.training.plan import Update

SITES = [f"org{i}" for i in range(10)]
PLAN = ProtectionPlan(secure_aggregation=True, seed=3)
DIRECTION = np.linspace(-1, 1, 40)


def model(values: np.ndarray) -> list[np.ndarray]:
    return [values[:30].reshape(5, 6).astype(np.float32), values[30:].astype(np.float32)]


def results(changes: dict[str, np.ndarray], rows: int = 1000) -> dict[str, SiteResult]:
    return {s: SiteResult(Update(model(c), rows, {"loss": 0.0})) for s, c in changes.items()}


def honest_changes(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {s: DIRECTION + rng.normal(0, 0.05, DIRECTION.size) for s in SITES}


def grouped(rule, group_size: int = 2) -> GroupedSecureAggregation:
    return GroupedSecureAggregation(rule, PLAN, group_size, SITES)


def flat(params: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([p.ravel() for p in params]).astype(np.float64)


def test_groups_are_fixed_for_the_run_cover_every_site_and_keep_the_least_size():
    first = groups_of(SITES, SITES, 3, seed=1)
    assert sorted(s for g in first for s in g) == SITES
    assert [len(g) for g in first] == [3, 3, 4]  # the remainder joins the last group
    assert groups_of(list(reversed(SITES)), SITES, 3, seed=1) == first  # same every round
    assert groups_of(SITES, list(reversed(SITES)), 3, seed=1) == first  # whoever lists them
    assert groups_of(SITES, SITES, 3, seed=2) != first
    assert fixed_groups(SITES, 3, seed=1) == first
    assert groups_of(SITES[:3], SITES, 20, seed=1) == []  # fewer sites than a group: none


def test_a_site_missing_from_a_round_never_regroups_the_others():
    """Whoever says a site dropped out (the coordinator) cannot give another site new group
    mates: each round's groups lie within the run's fixed groups, and a group left with fewer
    than ``group_size`` sites sits the round out instead of joining another."""
    fixed = fixed_groups(SITES, 3, seed=1)
    for missing in SITES:
        some = [s for s in SITES if s != missing]
        groups = groups_of(some, SITES, 3, seed=1)
        assert all(any(set(g) <= set(f) for f in fixed) for g in groups), missing
        assert all(len(g) >= 3 for g in groups)
        left_out = next(f for f in fixed if missing in f)
        expected = [f for f in fixed if f is not left_out]
        if len(left_out) > 3:  # the larger last group keeps its other sites
            expected = [[s for s in f if s != missing] for f in fixed]
        assert groups == expected, missing


def test_a_round_without_a_whole_group_is_aborted():
    """Sites of no group of three: nothing is summed, rather than one sum across groups."""
    first = fixed_groups(SITES, 3, seed=PLAN.seed)
    few = {s: c for s, c in honest_changes().items() if s in (first[0][0], first[1][0])}
    with pytest.raises(RoundAborted, match="no secure group has 3 of the round's sites"):
        grouped(Mean(), 3).combine(model(np.zeros(40)), results(few), round_=1)


def test_with_the_plain_mean_across_groups_it_is_the_weighted_mean():
    changes = honest_changes()
    rows = {s: 500 + 100 * i for i, s in enumerate(SITES)}
    sent = {s: SiteResult(Update(model(c), rows[s], {"loss": 0.0})) for s, c in changes.items()}
    aggregation = GroupedSecureAggregation(Mean(), PLAN, 2, SITES)
    combined = aggregation.combine(model(np.zeros(40)), sent, round_=1)
    expected = weighted_average([r.update for r in sent.values()])
    assert np.abs(flat(combined.params) - flat(expected)).max() < 1e-5  # fixed-point rounding
    assert len(aggregation.log[0].share) == len(SITES)


def test_a_robust_rule_across_group_sums_outvotes_a_boosted_sign_flip():
    """1 of 10 sites sends -10x its change: the group mean of its group points away; the
    median of 5 group means stays with the honest direction, the mean does not."""
    changes = honest_changes()
    changes["org4"] = -10 * changes["org4"]
    honest = np.mean([c for s, c in changes.items() if s != "org4"], axis=0)
    errors = {}
    for name, rule in (("mean", Mean()), ("median", CoordinateMedian())):
        combined = grouped(rule).combine(model(np.zeros(40)), results(changes), round_=1)
        errors[name] = np.abs(flat(combined.params) - honest).max()
    assert errors["median"] < 0.1 < 1.0 < errors["mean"], errors


class LeavesOutOrg4sGroup:
    """A rule that leaves out the group holding org4 and says why (as pair_conflict does)."""

    name = "stub"

    def __init__(self) -> None:
        self.why: dict[str, str] = {}

    def combine(self, deltas, weights, global_flat, sites):
        share = np.array([0.0 if "org4" in s.split("+") else 1.0 for s in sites])
        self.why = {s: "the stub's reason" for s, v in zip(sites, share, strict=True) if v == 0}
        share /= share.sum()
        return Decision(share @ deltas, share)


def test_every_member_of_a_group_left_out_carries_the_rules_reason():
    aggregation = grouped(LeavesOutOrg4sGroup())
    aggregation.combine(model(np.zeros(40)), results(honest_changes()), round_=1)
    record = aggregation.log[0]
    group = next(g for g in aggregation.rule.why)
    assert set(record.excluded) == set(group.split("+")) and "org4" in record.excluded
    assert record.reasons == dict.fromkeys(record.excluded, f"its group {group}: the stub's reason")


def test_the_curious_coordinator_sees_only_masked_updates_and_group_sums():
    """What the coordinator holds of each site looks uniform; what it can compute is each
    group's sum, never one site's payload."""
    changes = {s: np.random.default_rng(i).normal(0, 1, 40_000) for i, s in enumerate(SITES[:6])}
    big = [np.zeros(40_000, dtype=np.float32)]
    sent = {
        s: SiteResult(Update([c.astype(np.float32)], 1000, {"loss": 0.0}))
        for s, c in changes.items()
    }
    aggregation = GroupedSecureAggregation(Mean(), PLAN, 3, list(changes))
    aggregation.combine(big, sent, round_=1)
    for group in aggregation.seen[0]:
        assert len(group.members) >= 3
        vectors = {m: payload(big, sent[m].update, PLAN, 6, m, 1)[0] for m in group.members}
        member = group.members[0]
        masked = group.masked[member][: -checks.CHECK_COORDINATES]  # its check values follow
        top = (masked >> 24).astype(np.int64)
        assert chisquare(np.bincount(top, minlength=256)).pvalue > 1e-6
        own = encode(vectors[member], len(group.members))
        assert abs(np.corrcoef(masked.astype(float), own.astype(float))[0, 1]) < 0.02
        total = np.sum(list(vectors.values()), axis=0)
        assert np.abs(group.delta * group.weight - total[:-1]).max() < 1e-3


class SplittingCoordinator(GroupedSecureAggregation):
    """A malicious coordinator: it puts one site alone (or with fewer than the sites require)
    to read its update."""

    def __init__(self, sizes: list[int], *args) -> None:
        super().__init__(*args)
        self.sizes = sizes

    def combine(self, global_params, results, round_):
        names, start = list(results), 0
        for size in self.sizes:
            self.group_sum(global_params, results, names[start : start + size], round_)
            start += size


@pytest.mark.parametrize("sizes", [[1, 9], [2, 8]])
def test_sites_refuse_a_group_smaller_than_they_require(sizes):
    """The sites require groups of at least 3 (their own policy); a coordinator that forms a
    group of 1 or 2 to isolate an update gets no sum unmasked."""
    coordinator = SplittingCoordinator(sizes, Mean(), PLAN, 3, SITES)
    with pytest.raises(SecAggError):
        coordinator.combine(model(np.zeros(40)), results(honest_changes()), round_=1)


def grouped_scenario(*sets):
    base = ['adversary.orgs=["org2"]', "adversary.kind=sign_flip"]
    return load_scenario("unsw-5org-disjoint", [*base, *sets])


GROUPED = ["privacy.secure_aggregation=true", "privacy.secagg_group_size=2"]


def test_a_scenario_with_groups_aggregates_through_them_with_its_rule():
    scenario = grouped_scenario(*GROUPED, 'robustness.rule="median"')
    rows = {f"org{i}": 100 for i in range(1, 6)}
    aggregation = _strategy(scenario, None, rows, [], None, None, None).aggregation
    assert isinstance(aggregation, GroupedSecureAggregation)
    assert isinstance(aggregation.rule, CoordinateMedian) and aggregation.group_size == 2


def test_the_simulated_grouped_rule_caps_no_group_as_the_deployed_one_cannot():
    """Deployed, the statistics are secure sums and no site's own rows are known, so a group's
    weight is the one inside its verified sum (the admin's replay refuses any cap). The
    in-process run weighs groups the same way, so its attack matrix measures what a deployment
    defends: an inflated count weighs its own group up, uncapped."""
    scenario = grouped_scenario(*GROUPED, 'robustness.rule="mean"')
    sites = [f"org{i}" for i in range(1, 6)]
    aggregation = _strategy(scenario, None, dict.fromkeys(sites, 100), [], None, None, None)
    grouped_rule = aggregation.aggregation
    claimed = {s: 100 for s in sites} | {"org2": 100_000}
    changes = {s: DIRECTION * (i + 1) for i, s in enumerate(sites)}
    sent = {s: SiteResult(Update(model(changes[s]), claimed[s], {"loss": 0.0})) for s in sites}
    combined = grouped_rule.combine(model(np.zeros(40)), sent, round_=1)
    assert grouped_rule.log[0].capped == []
    expected = weighted_average([r.update for r in sent.values()])
    assert np.abs(flat(combined.params) - flat(expected)).max() < 1e-3


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["privacy.secagg_group_size=2", 'robustness.rule="median"'], "secure_aggregation"),
        (GROUPED, r"\[robustness\] section"),
        ([*GROUPED, 'robustness.rule="median"', 'strategy.name="scaffold"'], "extra arrays"),
        ([*GROUPED, 'robustness.rule="fltrust"'], "fltrust"),
        (["privacy.secure_aggregation=true", 'robustness.rule="median"'], "in groups"),
        # fixed groups sum only their own members: a sampled-out member would idle its group
        ([*GROUPED, 'robustness.rule="median"', "strategy.fraction=0.4"], "every organization"),
        ([*GROUPED[:1], "privacy.secagg_group_size=6", 'robustness.rule="median"'], "exceeds"),
    ],
)
def test_group_settings_that_cannot_work_are_refused(sets, message):
    with pytest.raises(ConfigError, match=message):
        grouped_scenario(*sets)

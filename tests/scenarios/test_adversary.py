"""The [adversary] and [robustness] sections: validated against the rest of the scenario."""

import pytest
from pydantic import ValidationError

from fedsec.scenarios.adversary import AdversaryConfig, dishonest_orgs
from fedsec.scenarios.loading import load_scenario


def scenario(*sets):
    return load_scenario("unsw-5org-disjoint", list(sets))


def test_sections_are_absent_by_default_and_not_written_to_the_resolved_config():
    plain = scenario()
    assert plain.adversary is None and plain.robustness is None
    assert "adversary" not in plain.to_toml() and "robustness" not in plain.to_toml()


def test_an_adversary_and_a_defence_round_trip():
    s = scenario('adversary.orgs=["org2"]', "adversary.kind=sign_flip", "robustness.rule=median")
    assert s.adversary.orgs == ["org2"] and s.robustness.rule == "median"
    assert s.robustness.max_weight_ratio == 2.0
    again = load_scenario("unsw-5org-disjoint", ["robustness={}"])
    assert again.robustness.rule == "pair_conflict"  # the measured default


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (['adversary.orgs=["org9"]', "adversary.kind=sign_flip"], "not organizations"),
        (["adversary.count=5", "adversary.kind=sign_flip"], "leaves none honest"),
        (["adversary.kind=sign_flip"], "either orgs"),
        (["adversary.count=1", "adversary.kind=targeted_flip"], "needs adversary.families"),
        (
            ["adversary.count=1", "adversary.kind=targeted_flip", 'adversary.families=["dso"]'],
            r"unknown families \['dso'\]",
        ),
        (["adversary.count=1", "adversary.kind=sign_flip", "adversary.start_round=500"], "after"),
        (["adversary.count=1", "adversary.kind=poison"], "kind"),
        (["robustness.rule=median", "privacy.secure_aggregation=true"], "in clear"),
        (["robustness.rule=krum"], "rule"),
        (
            ["adversary.count=1", "adversary.kind=scale", 'evaluation.arms=["local"]'],
            "federated arm",
        ),
    ],
)
def test_bad_sections_are_refused_with_the_field_named(sets, message):
    with pytest.raises((ValidationError, ValueError), match=message):
        scenario(*sets)


def test_dishonest_organizations_by_name_or_drawn_with_the_seed():
    names = [f"org{i}" for i in range(1, 11)]
    assert dishonest_orgs(AdversaryConfig(kind="scale", orgs=["org3"]), names, 0) == ["org3"]
    drawn = dishonest_orgs(AdversaryConfig(kind="scale", count=2), names, 0)
    assert len(set(drawn)) == 2 and drawn == dishonest_orgs(
        AdversaryConfig(kind="scale", count=2), names, 0
    )
    others = {
        tuple(dishonest_orgs(AdversaryConfig(kind="scale", count=2), names, s)) for s in range(6)
    }
    assert len(others) > 1


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["range_guard.clip=0"], "clip"),
        (["range_guard={}", 'model.kind="xgboost"'], "network model"),
        (["range_guard={}", "privacy.sample_dp.epsilon=1"], "a record could reach DP-SGD twice"),
    ],
)
def test_a_range_guard_that_cannot_work_is_refused(sets, message):
    with pytest.raises((ValidationError, ValueError), match=message):
        scenario(*sets)


def test_the_range_guard_is_off_by_default_and_its_defaults_are_the_measured_ones():
    assert scenario().range_guard is None and "range_guard" not in scenario().to_toml()
    guard = scenario("range_guard={}").range_guard
    assert (guard.clip, guard.augment, guard.max_columns) == (2.0, 1.0, 3)

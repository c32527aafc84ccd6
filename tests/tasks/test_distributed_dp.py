"""Distributed DP-SGD under secure aggregation, end to end on a real slice, and its refusals."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.experiments.driver import run_experiment
from fedsec.reporting.report import privacy_lines
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario

SMALL = [
    "data.max_rows=8000",
    "rounds=8",
    "evaluation.curve_points=2",
    "evaluation.arms=['centralized', 'federated']",
    "privacy.audit=false",
]
SHARES = [
    "privacy.sample_dp.epsilon=3",
    "privacy.sample_dp.noise_shares=5",
    "privacy.sample_dp.batch_size=512",
    "privacy.secure_aggregation=true",
    "model.class_weighting=logit_adjusted",
]


@pytest.fixture(scope="module")
def federation(data_dir):
    """The organizations' rows, read and split once for both runs of this module (they differ
    in arms and sampling rate only, not in data)."""
    return build_federation(load_scenario("unsw-5org-disjoint", [*SMALL, *SHARES]), data_dir)


@pytest.fixture(scope="module")
def shared_run(data_dir, federation):
    scenario = load_scenario("unsw-5org-disjoint", [*SMALL, *SHARES])
    return run_experiment(scenario, data_dir, federation=federation)


def test_every_organization_is_charged_the_pooled_step_it_took_part_in(shared_run):
    sample = shared_run.metrics["privacy"]["sample_dp"]
    spent = sample["per_arm"]["federated"]
    orgs = shared_run.metrics["federation"]["orgs"]
    pooled = sum(org["rows"]["train"] for org in orgs.values())
    assert sample["noise_shares"] == 5 and len(spent) == 5
    for org in spent.values():
        assert org["steps"] == 8  # one step a round
        assert org["sample_rate"] == pytest.approx(512 / pooled, abs=1e-6)
        assert org["noise_multiplier"] == spent["org1"]["noise_multiplier"]
        assert 0 < org["epsilon"] <= 3.0 < org["epsilon_with_one_colluding_org"]
    # the centralized arm draws the federation's rows a round in one step per organization
    pooled_arm = sample["per_arm"]["centralized"]["pooled"]
    assert pooled_arm["steps"] == 8 * 5 and "noise_shares" not in pooled_arm
    assert pooled_arm["sample_rate"] == pytest.approx(512 / pooled / 5, abs=1e-6)
    assert 0 < pooled_arm["epsilon"] <= 3.0
    lines = "\n".join(privacy_lines(shared_run.metrics["privacy"]))
    assert "each organization adding 1/√5 of the noise σ under secure aggregation" in lines
    assert "with one colluding organization" in lines
    assert 0 < shared_run.metrics["arms"]["federated"]["overall"]["macro_f1"] <= 1


@pytest.mark.parametrize(
    "extra, refusal",
    [
        (["privacy.secure_aggregation=false"], r"noise_shares needs privacy.secure_aggregation"),
        (["training.optimizer=adam"], r'training.optimizer = "sgd"'),
        (["privacy.sample_dp.noise_shares=6"], r"noise_shares <= the 5 organizations"),
        (["strategy.fraction=0.6"], r"noise_shares <= the 3 organizations"),
        (["privacy.sample_dp.local_steps=3"], r"one local step per round"),
        (["privacy.sample_dp.stats_epsilon_share=0.1"], r"no privacy.sample_dp.stats_epsilon"),
        (["privacy.sample_dp.class_sampling=true"], r"logit_adjusted.*class_sampling"),
        (
            ["privacy.sample_dp.accountant=prv", "privacy.sample_dp.epsilon=1000"],
            r'accountant = "prv" is for epsilon <= 16',
        ),
    ],
)
def test_shares_it_cannot_honour_are_refused_when_loaded(extra, refusal):
    with pytest.raises(ConfigError, match=refusal):
        load_scenario("unsw-5org-disjoint", [*SHARES, *extra])


def test_shares_are_refused_outside_classification():
    with pytest.raises(ConfigError, match=r'task = "classification"'):
        load_scenario("unsw-5org-anomaly", SHARES[:-1])


def test_a_named_rate_is_the_federations_and_the_local_arm_keeps_its_own(data_dir, federation):
    sets = [*SMALL, *SHARES, "privacy.sample_dp.sample_rate=0.02"]
    sets[3] = "evaluation.arms=['local', 'federated']"
    scenario = load_scenario("unsw-5org-disjoint", sets)
    run = run_experiment(scenario, data_dir, federation=federation)
    per_arm = run.metrics["privacy"]["sample_dp"]["per_arm"]
    orgs = run.metrics["federation"]["orgs"]
    assert {spent["sample_rate"] for spent in per_arm["federated"].values()} == {0.02}
    for name, spent in per_arm["local"].items():  # all its own noise, at its own rate
        assert spent["sample_rate"] == pytest.approx(512 / orgs[name]["rows"]["train"], abs=1e-6)
        assert 0 < spent["epsilon"] <= 3.0 and "noise_shares" not in spent

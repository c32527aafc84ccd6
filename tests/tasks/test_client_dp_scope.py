"""Client-level DP on a real slice: epsilon over the organizations' actual participations,
against the released models and against the coordinator, and what it does not cover."""

import math

import dp_accounting
import pytest
from dp_accounting import pld

from fedsec.cli.summary import privacy_notes
from fedsec.experiments.driver import run_experiment
from fedsec.fl.loop import select_orgs
from fedsec.reporting.report import privacy_lines
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.privacy import not_covered

TINY = [
    "data.max_rows=4000",
    "rounds=5",
    "evaluation.curve_points=1",
    "evaluation.arms=['federated']",
    "strategy.fraction=0.4",  # 2 of 5 organizations a round
    "privacy.client_dp.noise_multiplier=1.0",
]


def _composed(z: float, releases: int) -> float:
    accountant = pld.PLDAccountant(value_discretization_interval=1e-3)
    accountant.compose(dp_accounting.GaussianDpEvent(z), releases)
    return accountant.get_epsilon(1e-5)


def _amplified(z: float, rate: float, rounds: int) -> float:
    """What fedsec used to report: Poisson sampling at the selection rate."""
    accountant = pld.PLDAccountant(value_discretization_interval=1e-3)
    accountant.compose(
        dp_accounting.PoissonSampledDpEvent(rate, dp_accounting.GaussianDpEvent(z)), rounds
    )
    return accountant.get_epsilon(1e-5)


_RUNS: dict[str, object] = {}


@pytest.fixture(scope="module", autouse=True)
def _forget_runs():
    yield
    _RUNS.clear()


def _run(data_dir, protection: str):
    """The run in clear or under secure aggregation, trained once per test process."""
    if protection not in _RUNS:
        extra = ["privacy.secure_aggregation=true"] if protection == "secure" else []
        scenario = load_scenario("unsw-5org-disjoint", [*TINY, *extra])
        _RUNS[protection] = run_experiment(scenario, data_dir)
    return _RUNS[protection]


def test_in_clear_epsilon_counts_actual_participations_and_the_coordinator_sees_z_over_root_k(
    data_dir,
):
    run = _run(data_dir, "clear")
    names = run.scenario.org_names()
    schedule = {n: 0 for n in names}
    for round_ in range(1, 6):
        for name in select_orgs(names, 0.4, 1, 0, round_):
            schedule[name] += 1
    taken = run.arms["federated"].participation
    assert {n: taken.get(n, 0) for n in names} == schedule  # what the run actually did
    client = run.metrics["privacy"]["client_dp"]
    busiest = max(schedule.values())
    assert client["releases"] == schedule and client["busiest_releases"] == busiest
    assert client["participation_recorded"]
    assert client["epsilon_pld"] == pytest.approx(_composed(1.0, busiest), abs=1e-4)
    assert client["epsilon_pld"] >= _amplified(1.0, 0.4, 5)  # the old, amplified figure
    per_org = client["epsilon_per_organization"]
    assert set(per_org) == set(names)
    assert max(per_org.values()) == client["epsilon_pld"]
    # in clear the coordinator reads each update, carrying z / sqrt(k) of the noise
    coordinator, busiest = client["coordinator"], client["busiest_releases"]
    assert client["noise_shares_cover"] == 2
    assert coordinator["noise_multiplier"] == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert coordinator["epsilon_pld"] == pytest.approx(
        _composed(1 / math.sqrt(2), busiest), abs=1e-4
    )
    assert coordinator["epsilon_pld"] > client["epsilon_pld"]
    assert "the coordinator" not in client["holds_against"]
    assert "secure_aggregation" in client["coordinator_warning"]
    lines = "\n".join(privacy_lines(run.metrics["privacy"]))
    assert "Against the coordinator, reading each organization's noised update" in lines
    assert "Not covered by any ε above" in lines and "exact training row count" in lines
    assert "which rounds each organization takes part in" in lines
    assert "no amplification by sampling" in lines and f"took part in {busiest} rounds" in lines
    assert privacy_notes(run.metrics) == [client["coordinator_warning"]]  # on the console too


def test_under_secure_aggregation_the_coordinator_sees_the_aggregates_noise(data_dir):
    client = _run(data_dir, "secure").metrics["privacy"]["client_dp"]
    assert client["coordinator"]["epsilon_pld"] == client["epsilon_pld"]
    assert client["coordinator"]["noise_multiplier"] == 1.0
    assert "the coordinator" in client["holds_against"]
    assert client["coordinator_warning"] is None
    assert privacy_notes(_run(data_dir, "secure").metrics) == []
    covered = _run(data_dir, "secure").metrics["privacy"]["not_covered_by_epsilon"]
    assert any("only their sum" in item for item in covered)


def test_logs_token_vocabulary_is_named_as_not_covered():
    scenario = load_scenario("hdfs-5org", ["privacy.client_dp.noise_multiplier=1.0"])
    assert any("hashed event tokens" in item for item in not_covered(scenario))

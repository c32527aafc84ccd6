"""Client-level epsilon is the Gaussian mechanism composed over an organization's actual
participations, with no amplification by sampling: the coordinator knows the selection."""

import dp_accounting
import pytest
from dp_accounting import pld, rdp

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.records import RoundLog
from fedsec.fl.loop import RoundRecord, participation, select_orgs
from fedsec.fl.privacy import dp
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.privacy import check_accounting


def _composed(z: float, releases: int, delta: float) -> float:
    accountant = pld.PLDAccountant(value_discretization_interval=1e-3)
    accountant.compose(dp_accounting.GaussianDpEvent(z), releases)
    return accountant.get_epsilon(delta)


def _self_composed(z: float, rate: float, rounds: int, delta: float) -> float:
    """What fedsec used to report: Poisson sampling at the selection rate (coarse grid)."""
    accountant = pld.PLDAccountant(value_discretization_interval=1e-3)
    event = dp_accounting.PoissonSampledDpEvent(rate, dp_accounting.GaussianDpEvent(z))
    accountant.compose(event, rounds)
    return accountant.get_epsilon(delta)


def test_the_busiest_organization_of_the_seeded_schedule_sets_epsilon_not_the_sampling_rate():
    # the audit's case: 100 organizations, 10 a round, z = 1, 100 rounds, seed 0
    names = [f"org{i + 1}" for i in range(100)]
    history = [RoundRecord(r, select_orgs(names, 0.1, 1, 0, r), 0.0, 0.0) for r in range(1, 101)]
    counts = participation(history)
    assert sum(counts.values()) == 1000 and max(counts.values()) == 20
    eps = dp.client_dp_epsilon(1.0, max(counts.values()), 1e-5)
    assert eps["pld"] == pytest.approx(_composed(1.0, 20, 1e-5), abs=1e-6)
    assert eps["pld"] == pytest.approx(28.37, abs=0.01)
    assert eps["pld"] > 4 * _self_composed(1.0, 0.1, 100, 1e-5)  # the old figure: 7.05
    per_org = dp.participation_epsilons(1.0, counts, 1e-5)
    assert max(per_org.values()) == eps["pld"]
    assert min(per_org.values()) < eps["pld"]  # fewer participations, smaller epsilon


def test_every_release_counts_in_full_whatever_the_rate():
    renyi = rdp.RdpAccountant()
    renyi.compose(dp_accounting.GaussianDpEvent(3.0), 7)
    assert dp.client_dp_rdp_epsilon(3.0, 7, 1e-5) == pytest.approx(renyi.get_epsilon(1e-5))
    assert dp.client_dp_epsilon(1.0, 0, 1e-5) == {"pld": 0.0, "rdp": 0.0}
    assert dp.gaussian_pld_epsilon(0.01, 200, 1e-5) == float("inf")  # void: no grid built


def test_void_noise_is_refused_for_the_worst_case_schedule_not_the_sampling_rate():
    # 10 organizations, 1 a round: Poisson at 0.1 gave RDP epsilon 316 over 200 rounds and ran;
    # the coordinator may select the same organization every round: 1334, refused
    settings = ["partition.orgs=10", "strategy.fraction=0.1", "strategy.min_orgs=1"]
    scenario = load_scenario(
        "unsw-5org-disjoint", [*settings, "privacy.client_dp.noise_multiplier=0.3"]
    )
    assert scenario.smallest_round() == 1
    with pytest.raises(ConfigError, match="bounds nothing"):
        check_accounting(scenario)
    with pytest.raises(ValueError, match=r"0\.3 over 200 rounds"):
        dp.check_client_dp(0.3, rounds=200, delta=1e-5)
    check_accounting(
        load_scenario("unsw-5org-disjoint", [*settings, "privacy.client_dp.noise_multiplier=0.5"])
    )


def test_a_deployments_round_log_counts_the_sites_it_selected():
    log = [
        RoundLog(1, ["a", "b"], ["a"], 0.1, 1.0),  # b selected, then dropped: still counted
        RoundLog(2, ["a", "c"], ["a", "c"], 0.1, 1.0),
    ]
    assert participation(log) == {"a": 2, "b": 1, "c": 1}

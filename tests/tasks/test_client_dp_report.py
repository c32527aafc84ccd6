"""Client-level ε as reported: rounded up, over the arms with client-level noise only, and
never refused after training (a void ε is null with a warning)."""

from types import SimpleNamespace

import pytest

from fedsec.core.errors import ConfigError
from fedsec.fl.privacy import dp
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.client_dp import client_dp_section
from fedsec.tasks.privacy import check_accounting

ORGS = ["org1", "org2", "org3", "org4", "org5"]


def _arm(rounds: int) -> SimpleNamespace:
    return SimpleNamespace(participation=dict.fromkeys(ORGS, rounds))


def test_epsilon_is_rounded_up_never_below_the_true_value():
    scenario = load_scenario(
        "unsw-5org-disjoint", ["rounds=5", "privacy.client_dp.noise_multiplier=1.0"]
    )
    section = client_dp_section(scenario, {"federated": _arm(5)})
    true = dp.gaussian_pld_epsilon(1.0, 5, 1e-5)  # 11.48002...: nearest gives 11.48
    assert section["epsilon_pld"] >= true and section["epsilon_pld"] == pytest.approx(
        true, abs=1e-4
    )
    assert section["epsilon_rdp"] >= dp.client_dp_rdp_epsilon(1.0, 5, 1e-5)
    assert all(e >= true for e in section["epsilon_per_organization"].values())
    coordinator = dp.gaussian_pld_epsilon(section["coordinator"]["noise_multiplier"], 5, 1e-5)
    assert section["coordinator"]["epsilon_pld"] >= coordinator


def test_arms_without_client_level_noise_are_not_counted():
    scenario = load_scenario(
        "unsw-5org-disjoint", ["rounds=5", "privacy.client_dp.noise_multiplier=1.0"]
    )
    section = client_dp_section(scenario, {"federated": _arm(3), "centralized": _arm(5)})
    assert section["busiest_releases"] == 3


def _two_detectors(noise: float) -> object:
    return load_scenario(
        "unsw-5org-anomaly",
        [
            "rounds=5",
            "anomaly.models=['ae', 'svdd']",
            f"privacy.client_dp.noise_multiplier={noise}",
        ],
    )


def test_several_noised_arms_are_checked_before_training():
    with pytest.raises(ConfigError, match="noise_multiplier"):
        check_accounting(_two_detectors(0.07))  # 5 rounds bound, 2 x 5 releases void
    check_accounting(_two_detectors(1.0))


def test_a_void_epsilon_after_training_is_reported_not_raised():
    arms = {"federated_ae": _arm(5), "federated_svdd": _arm(5), "centralized_ae": _arm(5)}
    section = client_dp_section(_two_detectors(0.07), arms)
    assert section["busiest_releases"] == 10
    assert section["epsilon_pld"] is None and section["epsilon_rdp"] is None
    assert "bounds nothing" in section["warning"]

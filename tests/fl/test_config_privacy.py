"""The privacy section names a run's folder after the protections it enables."""

from __future__ import annotations

import pytest

from fedsec.core import outputs
from fedsec.scenarios.loading import load_scenario


@pytest.mark.parametrize(
    "overrides, suffix",
    [
        ([], ""),
        (["privacy.secure_aggregation=true", "privacy.sample_dp.epsilon=4"], "secagg-dp4"),
        (["privacy.homomorphic_encryption=true"], "he"),
        (
            ["privacy.client_dp.noise_multiplier=1.5", "privacy.sample_dp.epsilon=0.5"],
            "dp0.5-orgdp1.5",
        ),
    ],
)
def test_protection_settings_name_the_run_folder(overrides, suffix):
    scenario = load_scenario("unsw-5org-disjoint", overrides)
    assert scenario.privacy.run_suffix() == suffix
    name = outputs.run_name(scenario.name, scenario.seed, suffix)
    assert name == "-".join(p for p in ("unsw-5org-disjoint-seed0", suffix) if p)

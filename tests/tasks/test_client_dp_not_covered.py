"""What organization-level ε does not cover is in the one list every ε shares: report.md names
each item once (the row counts were told twice)."""

from types import SimpleNamespace

from fedsec.reporting.report import privacy_lines
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.privacy import privacy_section

ORGS = ["org1", "org2", "org3", "org4", "org5"]
CLIENT_DP = ["rounds=5", "privacy.client_dp.noise_multiplier=1.0"]


def _lines(*overrides: str) -> str:
    scenario = load_scenario("unsw-5org-disjoint", [*CLIENT_DP, *overrides])
    arms = {"federated": SimpleNamespace(participation=dict.fromkeys(ORGS, 5), privacy={})}
    return "\n".join(privacy_lines(privacy_section(scenario, arms)))


def test_one_list_names_the_row_counts_once_and_the_participation():
    lines = _lines()
    assert lines.count("Not covered") == 1
    outside = next(line for line in lines.splitlines() if "Not covered" in line)
    assert outside.count("row count") == 1
    assert "which rounds each organization takes part in" in lines


def test_dp_statistics_are_named_as_outside_organization_level_epsilon():
    lines = _lines("privacy.sample_dp.epsilon=1", "privacy.sample_dp.stats_epsilon_share=0.1")
    assert "preprocessing statistics for organization-level ε" in lines

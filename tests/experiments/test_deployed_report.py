"""The deployment section of a deployed run's report, rendered from a job's real replies: what
each site spent of DP-SGD (told even when its counts are withheld), and what its gate said."""

import pytest

from fedsec.experiments.deployed import deployment_section
from fedsec.experiments.deployed_report import render
from fedsec.fl.config import SampleDpConfig
from tests.engines.nvflare.memory import run

pytest.importorskip("nvflare")
pytestmark = pytest.mark.usefixtures("site_files_read_once")


def site_rows(text: str, sites: list[str]) -> dict[str, list[str]]:
    """Each site's row of the report's per-site table, as its cells."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells and cells[0] in sites:
            rows[cells[0]] = cells
    return rows


def test_a_dp_job_reports_the_epsilon_each_site_spent(consortium):
    """A site-only run has no in-process arm to say it: the deployment table must."""
    scenario, result, _ = run(
        consortium, secure_aggregation=True, sample_dp=SampleDpConfig(epsilon=4.0)
    )
    assert result.error is None, result.error
    text = render(deployment_section(result, "job-1", "secure aggregation"))
    assert "| DP-SGD ε spent |" in text
    sites = scenario.org_names()
    rows = site_rows(text, sites)
    assert sorted(rows) == sorted(sites)
    for site, cells in rows.items():
        spent = result.evaluation[site]["sample_dp"]
        assert spent["epsilon_rounded_up"]  # a secure job: only an upper bound is told
        assert cells[-1] == f"≤ {spent['epsilon']:g}" and 4.0 <= spent["epsilon"] <= 4.1


def test_a_job_without_dp_or_gates_says_so_instead_of_accepted(consortium):
    scenario, result, _ = run(consortium)
    assert result.error is None, result.error
    assert all(reply["gate"] is None for reply in result.evaluation.values())
    text = render(deployment_section(result, "job-1", "clear"))
    assert "ε spent" not in text
    for site, cells in site_rows(text, scenario.org_names()).items():
        assert cells[-1] == "not judged (no gate)", site

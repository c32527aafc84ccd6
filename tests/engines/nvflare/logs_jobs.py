"""A logs (DeepLog) job of the logs consortium run over the in-memory transport by sites
holding kit identities, and the scenario variants it runs."""

from __future__ import annotations

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.scenarios.config import Scenario, parse_scenario
from tests.engines.nvflare.memory import Memory

LOGS_JOB = "job-logs"
#: the logs consortium's organizations, in the order of its sites
ORGS = ("org1", "org2", "org3")


def with_logs(scenario: Scenario, **logs: object) -> Scenario:
    """``scenario`` with ``logs`` changed in its ``[logs]`` section."""
    raw = scenario.model_dump(mode="json", exclude_none=True)
    raw["logs"] |= logs
    return parse_scenario(raw)


def run_logs_job(consortium, project, scenario: Scenario, tmp_path_factory):
    """The fetched result of ``scenario``'s job (the coordinator's choice of scenario)."""
    data, _ = consortium
    seeding.deterministic_torch(threads=1)
    sites = {
        n: Site(config_from_scenario(scenario, n, data, False), data, keys=project.identity(n),
                job=LOGS_JOB)
        for n in ORGS
    }  # fmt: skip
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=list(ORGS)))
    result = Coordinator(spec, Memory(sites), list(ORGS)).run()
    assert result.error is None and len(result.evaluation) == len(ORGS), result.error
    return read_result(write_result(result, tmp_path_factory.mktemp("fetched")))

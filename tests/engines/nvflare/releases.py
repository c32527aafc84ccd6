"""The admin's release of a fetched job result, and the check that a release is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.results import DeploymentError, JobResult, read_result, write_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.experiments.deployed import write_site_only_run
from fedsec.scenarios.config import Scenario


def release(
    scenario: Scenario, result: JobResult, job: str, project, signer, out: Path, least=None
) -> Path:
    """Release ``result`` as the admin does: site-only run, model signed, root CA trusted;
    ``least``: the admin's --min-sites."""
    root = project.root_pem()
    return write_site_only_run(scenario, result, job, out, signer, trust=root, least=least)


def assert_refused(scenario: Scenario, result: JobResult, job: str, why: str, project, signer,
                   tmp_path: Path) -> None:  # fmt: skip
    """The release is refused in one line matching ``why``, and nothing is written."""
    out = tmp_path / "run"
    with pytest.raises(DeploymentError, match=why) as raised:
        release(scenario, result, job, project, signer, out)
    assert "\n" not in str(raised.value)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def assert_refused_withheld(scenario: Scenario, fetched: Path, victim: str, job: str, why: str,
                            project, signer, tmp_path: Path) -> None:  # fmt: skip
    """The fetched result, released with ``victim``'s evaluation withheld (the admin's
    --min-sites 2), is refused matching ``why``."""
    result = read_result(fetched)
    del result.evaluation[victim]
    with pytest.raises(DeploymentError, match=why):
        release(scenario, result, job, project, signer, tmp_path / "run", least=2)


def keyed_job(scenario: Scenario, data: Path, project, job: str, transport, fetched: Path,
              curve: list[int], kind: str | None = None,
              coordinator: type[Coordinator] = Coordinator) -> JobResult:  # fmt: skip
    """The result, as the admin fetches it into ``fetched``, of ``scenario``'s job ``job`` run
    by sites holding their kits' keys (one site per organization, over ``transport``; ``kind``:
    an anomaly job's detector) and ``coordinator``."""
    names = scenario.org_names()
    seeding.deterministic_torch(threads=1)
    sites = {
        n: Site(config_from_scenario(scenario, n, data, False), data,
                keys=project.identity(n), job=job)
        for n in names
    }  # fmt: skip
    settings = DeploymentSettings(site_order=names)
    spec = JobSpec.from_scenario(scenario, curve, settings, *([kind] if kind else []))
    result = coordinator(spec, transport(sites), names).run()
    assert result.error is None and not result.dropouts, (result.error, result.dropouts)
    return read_result(write_result(result, fetched))

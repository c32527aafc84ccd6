"""The admin's release of a fetched job result, and the check that a release is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedsec.engines.nvflare.results import DeploymentError, JobResult
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

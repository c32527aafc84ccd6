"""The admin releases a model only with the detection fields its own scenario prescribes: a
logs job's ``top_k``, ``max_top_k`` and threshold travel in the setup the coordinator writes,
and sites signed whatever they were sent (``top_k = 1``: every benign HDFS session flagged;
``top_k = 100000``: recall 0). Sites with kit identities answer logs jobs over the in-memory
transport (the prescribed fields of every task: test_release_setup.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fedsec.bundles.bundle import SIGNATURE
from fedsec.engines.nvflare.attestation import attest
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.wire import params_to_wire
from fedsec.experiments.deployed import write_site_only_run
from tests.engines.nvflare.logs_jobs import LOGS_JOB as JOB
from tests.engines.nvflare.logs_jobs import run_logs_job, with_logs
from tests.engines.nvflare.releases import assert_refused

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def honest(logs_consortium, project, tmp_path_factory):
    return run_logs_job(logs_consortium, project, logs_consortium[1], tmp_path_factory)


def refused(scenario, result, why, project, signer, tmp_path):
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_an_honest_logs_job_is_released(logs_consortium, honest, project, signer, tmp_path):
    scenario = logs_consortium[1]
    assert honest.setup["top_k"] == 0 and scenario.logs.top_k == 0  # calibrated per site
    run = write_site_only_run(scenario, honest, JOB, tmp_path / "run", signer,
                              trust=project.root_pem())  # fmt: skip
    assert (run / "model" / SIGNATURE).is_file()


def test_a_coordinators_top_k_of_1_is_refused(logs_consortium, project, signer, tmp_path,
                                              tmp_path_factory):  # fmt: skip
    """The coordinator ran the job with ``top_k = 1``: every site signed a rule flagging
    (nearly) every benign session; the admin's scenario calibrates top_k at each site."""
    hostile = with_logs(logs_consortium[1], top_k=1)
    result = run_logs_job(logs_consortium, project, hostile, tmp_path_factory)
    assert {r["validation"]["threshold"] for r in result.evaluation.values()} == {1}
    refused(logs_consortium[1], result,
            r"job job-logs: setup top_k is 1 in the result, the scenario says 0; nothing written",
            project, signer, tmp_path)  # fmt: skip


def resigned(result, project, **fields):
    """``result`` with its setup changed as a coordinator would, and every site's evaluation
    signed over that setup (sites sign what they are sent)."""
    setup = result.setup | fields
    request = SimpleNamespace(
        params=params_to_wire(result.params), model=parse_setup(setup), target_fpr=0.01
    )
    result.setup = setup
    result.evaluation = {
        site: attest(project.identity(site), JOB, request, {k: v for k, v in reply.items()
                                                             if k != "attestation"})
        for site, reply in result.evaluation.items()
    }  # fmt: skip
    return result


@pytest.mark.parametrize(
    "fields, why",
    [
        ({"top_k": 100000}, "setup top_k is 100000 in the result, the scenario says 0"),
        ({"max_top_k": 2}, "setup max_top_k is 2 in the result, the scenario says 0"),
        ({"score": "max-surprise", "threshold": 0.99}, "setup score is 'max-surprise'"),
        ({"window": 4}, "setup window is 4 in the result, the scenario says 5"),
    ],
)
def test_a_signed_setup_the_scenario_does_not_prescribe_is_refused(
    fields, why, logs_consortium, honest, project, signer, tmp_path, tmp_path_factory
):
    copied = read_result(write_result(honest, tmp_path_factory.mktemp("copy")))
    result = resigned(copied, project, **fields)
    refused(logs_consortium[1], result, why, project, signer, tmp_path)


def test_a_site_refuses_a_top_k_that_flags_no_session(logs_consortium, honest):
    data, scenario = logs_consortium
    site = Site(config_from_scenario(scenario, "org1", data, False), data)
    setup = parse_setup(honest.setup | {"top_k": 100000})
    with pytest.raises(PlanRefused, match="top_k 100000 flags no session"):
        site.prepared(setup)

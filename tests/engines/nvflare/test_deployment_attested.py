"""``fedsec job submit`` without the data (a real consortium): the run directory and its signed
bundle are written only when every site's signed evaluation matches the coordinator's result,
and only the job's own sites that answered set thresholds (not the coordinator's certificate
signing under its own name, a site that never took part, or a "failed" reply carrying a
threshold). Sites with kit identities answer an anomaly job over the in-memory transport."""

from __future__ import annotations

import copy

import pytest

from fedsec.bundles.anomaly_bundle import load_anomaly_bundle
from fedsec.bundles.bundle import SIGNATURE
from fedsec.bundles.signing import Trust
from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.results import DeploymentError, read_result, write_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.experiments.deployed import write_site_only_run
from tests.engines.nvflare.memory import Memory
from tests.engines.nvflare.releases import assert_refused
from tests.engines.nvflare.test_attestation import signed
from tests.engines.nvflare.variants import anomaly_scenario

pytestmark = pytest.mark.usefixtures("site_files_read_once")

JOB = "job-1"


@pytest.fixture(scope="module")
def job(consortium, project, tmp_path_factory):
    """(scenario, the fetched result folder) of an anomaly job whose sites hold kit keys."""
    data, base = consortium
    scenario = anomaly_scenario(base)
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {
        n: Site(config_from_scenario(scenario, n, data, False), data, keys=project.identity(n),
                job=JOB)
        for n in names
    }  # fmt: skip
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names), "ae")
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.error is None and result.evaluation
    return scenario, write_result(result, tmp_path_factory.mktemp("fetched"))


def test_an_honest_result_is_written_and_signed(job, project, signer, tmp_path):
    scenario, fetched = job
    result = read_result(fetched)
    run = write_site_only_run(
        scenario, result, JOB, tmp_path / "run", signer, trust=project.root_pem()
    )
    model, _ = load_anomaly_bundle(run / "model", Trust(allow_unsigned=True))  # a test admin
    assert (run / "model" / SIGNATURE).is_file()
    assert model.thresholds_ == {
        site: reply["validation"]["threshold"] for site, reply in result.evaluation.items()
    }


def doctored_threshold(result):
    site = sorted(result.evaluation)[0]
    result.evaluation[site]["validation"]["threshold"] = 0.999999
    return f"site {site}'s evaluation refused: threshold differs"


def doctored_params(result):
    result.params = copy.deepcopy(result.params)
    result.params[0].flat[0] += 1.0
    return "params sha256 differs"


@pytest.mark.parametrize("doctor", [doctored_threshold, doctored_params])
def test_a_doctored_result_is_refused_and_nothing_is_written(doctor, job, project, signer,
                                                            tmp_path):  # fmt: skip
    scenario, fetched = job
    result = read_result(fetched)
    why = doctor(result)
    out = tmp_path / "run"
    with pytest.raises(DeploymentError, match=why):
        write_site_only_run(scenario, result, JOB, out, signer, trust=project.root_pem())
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_signed_bundle_needs_the_root_ca(job, signer, tmp_path):
    scenario, fetched = job
    with pytest.raises(DeploymentError, match="no root CA"):
        write_site_only_run(scenario, read_result(fetched), JOB, tmp_path / "run", signer)
    assert list(tmp_path.iterdir()) == []


def test_an_evaluation_signed_by_the_coordinators_certificate_is_refused(
    job,
    project,
    signer,
    tmp_path,
):
    """The coordinator's certificate is issued by the same root CA and carries no admin role:
    it signed a statement of its own model under its own name, all real sites left out."""
    scenario, fetched = job
    result = read_result(fetched)
    honest = next(iter(result.evaluation.values()))
    setup_and_params = (result.setup, result.params)
    coordinator = project.identity("coordinator")
    forged = signed(coordinator, setup_and_params, 1e9)
    forged["test"] = honest.get("test", forged["test"])
    result.evaluation = {"coordinator": forged}
    why = "names coordinator, not among the job's sites"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_site_that_never_took_part_is_refused(job, project, signer, tmp_path):
    scenario, fetched = job
    result = read_result(fetched)
    result.evaluation["ghost-org"] = {"error": "timed out", "validation": {"threshold": 0.0}}
    assert_refused(scenario, result, JOB, "names ghost-org", project, signer, tmp_path)


def test_a_failed_evaluation_sets_no_threshold(job, project, signer, tmp_path):
    """Its threshold was read into the signed bundle though no site signed it (1e30 there:
    that organization would never see an alert)."""
    scenario, fetched = job
    result = read_result(fetched)
    site = sorted(result.evaluation)[0]
    result.evaluation[site] = {"error": "timed out", "validation": {"threshold": 1e30}}
    out, root, rest = tmp_path / "run", project.root_pem(), len(result.evaluation) - 1
    with pytest.raises(DeploymentError, match=f"no evaluation of {site}; --min-sites"):
        write_site_only_run(scenario, result, JOB, out, signer, trust=root)
    # the admin's --min-sites accepts a release on the others' evaluations
    run = write_site_only_run(scenario, result, JOB, out, signer, trust=root, least=rest)
    model, _ = load_anomaly_bundle(run / "model", Trust(allow_unsigned=True))
    assert site not in model.thresholds_
    assert sorted(model.thresholds_) == sorted(set(result.evaluation) - {site})

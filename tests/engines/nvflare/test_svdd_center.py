"""A Deep SVDD job's pooled centre is bounded by each site's own centre sums: a hostile
coordinator that moved the centre 1e3 along one axis had the final model evaluated, signed and
released with detection at 0 (red team 5, F3). A site refuses to train from such a centre and
signs a refusal at the evaluation; the admin then releases nothing."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_center import CenterSeen, center_refusal
from fedsec.engines.nvflare.site_config import config_from_scenario
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused
from tests.engines.nvflare.variants import anomaly_scenario

pytestmark = pytest.mark.usefixtures("site_files_read_once")

JOB = "job-svdd"
WHY = "the pooled Deep SVDD center lies"


def far(setup: dict) -> dict:
    """``setup`` with its centre moved 1e3 along the first axis."""
    center = np.asarray(setup["center"], dtype=float)
    return setup | {"center": (center + 1e3 * np.eye(len(center))[0]).tolist()}


class FarFinal(Recording):
    """A hostile coordinator: the sites evaluate the final model with the centre moved."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_evaluate":
            self.final_setup = far(data["model"])
            data = data | {"model": self.final_setup}
        return super().exchange(task, data, targets, timeout)


class FarTraining(Recording):
    """A hostile coordinator: every round trains from the moved centre."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train":
            data = data | {"model": far(data["model"])}
        return super().exchange(task, data, targets, timeout)


def svdd_job(consortium, project, transport):
    """(scenario released as a Deep SVDD one, the job's result, its sites, the transport)."""
    data, base = consortium
    scenario = anomaly_scenario(base)
    names = scenario.org_names()
    seeding.deterministic_torch(threads=1)
    sites = {
        n: Site(config_from_scenario(scenario, n, data, False), data,
                keys=project.identity(n), job=JOB)
        for n in names
    }  # fmt: skip
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names), "svdd")
    link = transport(sites)
    result = Coordinator(spec, link, names).run()
    anomaly = scenario.anomaly.model_copy(update={"models": ["svdd", "ae"]})
    return scenario.model_copy(update={"anomaly": anomaly}), result, sites, link


def test_an_honest_centre_lies_within_every_sites_bound(consortium, project):
    _, result, sites, _ = svdd_job(consortium, project, Recording)
    assert result.error is None, result.error
    center = np.asarray(result.setup["center"])
    for site in sites.values():
        seen = site.center_seen
        assert seen is not None and np.linalg.norm(center) < seen.radius
        assert seen.radius < 1e3  # the red team's move lies beyond it
        assert center_refusal(list(center), seen, 0.01) is None


def test_a_centre_beyond_the_radius_is_refused_naming_the_distances():
    seen = CenterSeen(np.array([1.0, 0.0]), radius=10.0)
    assert center_refusal([1.0, 0.1], seen, 0.01) is None
    assert center_refusal([-9.0, 0.1], seen, 0.01) is None  # another site's mean, far away
    why = center_refusal([30.0, 0.1], seen, 0.01)
    assert why is not None and why.startswith(f"{WHY} 30.0002 from the origin")
    assert center_refusal([30.0, 0.1, 0.1], seen, 0.01) == (
        "the Deep SVDD center has 3 values, the summed embeddings 2"
    )
    # a site holding all the rows allows its own mean only (and the push of small values)
    assert center_refusal([-9.0, 0.1], seen, 1.0) is not None


def test_sites_sign_a_refusal_of_a_moved_final_centre(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    scenario, result, _, link = svdd_job(consortium, project, FarFinal)
    assert result.error is None, result.error
    for reply in result.evaluation.values():  # was evaluated, accepted and signed
        assert reply["accepted"] is False and WHY in reply["gate"]["reason"], reply
    result.setup = link.final_setup  # the setup the sites evaluated and signed
    fetched = read_result(write_result(result, tmp_path_factory.mktemp("fetched")))
    why = f"acceptance gate of .* refused the final model .*{WHY}"
    assert_refused(scenario, fetched, JOB, why, project, signer, tmp_path)


def test_sites_train_no_round_from_a_moved_centre(consortium, project):
    _, result, _, _ = svdd_job(consortium, project, FarTraining)
    assert result.error is not None and result.error.startswith("0 site(s) left in round 1")
    assert result.error.count(WHY) == len(consortium[1].org_names()), result.error

"""A gated site that trained no round of the job (never sampled, or restarted mid-job) judges
the final model against chance on its own validation rows: before, it signed an unjudged
verdict and the admin released nothing, whatever the model. A model no better than chance is
still refused."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fedsec.bundles.bundle import SIGNATURE
from fedsec.engines.nvflare.results import read_result, write_result
from tests.engines.nvflare.short_jobs import gated_site, refused, release, short

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def honest(short_honest_job):
    return short_honest_job


def relayed(honest, consortium, project, tmp_path_factory, doctor=None, fresh=1):
    """The honest result with its first ``fresh`` sites' evaluations answered by new sites
    that trained no round; ``doctor`` changes the evaluated params (for every site)."""
    scenario, fetched, link = honest
    result = read_result(fetched)
    (request,) = [d for d in link.sent if "target_fpr" in d]
    request = copy.deepcopy(request)
    names = sorted(result.evaluation)
    if doctor is not None:
        request["params"] = [doctor(p) for p in request["params"]]
        result.params = [doctor(p) for p in result.params]
        fresh = len(names)
    for name in names[:fresh]:
        site = gated_site(short(consortium), project, name)
        result.evaluation[name] = site.handle("fedsec_evaluate", copy.deepcopy(request))
    return scenario, read_result(write_result(result, tmp_path_factory.mktemp("relayed")))


def test_a_site_that_never_trained_judges_an_honest_final_model(
    honest, consortium, project, signer, tmp_path, tmp_path_factory
):
    scenario, result = relayed(honest, consortium, project, tmp_path_factory)
    gate = result.evaluation[sorted(result.evaluation)[0]]["gate"]
    assert gate["judged"] is True and gate["accepted"] is True, gate
    assert gate["reason"] == "judged against chance"
    run = release(scenario, result, project, signer, tmp_path / "run")
    assert (run / "model" / SIGNATURE).is_file()


def test_sites_that_never_trained_still_refuse_an_all_zero_final_model(
    honest, consortium, project, signer, tmp_path, tmp_path_factory
):
    scenario, result = relayed(honest, consortium, project, tmp_path_factory, np.zeros_like)
    for reply in result.evaluation.values():
        assert reply["accepted"] is False and reply["gate"]["judged"] is True
    refused(scenario, result, r"refused the final model \(.*no better than chance", project,
            signer, tmp_path)  # fmt: skip

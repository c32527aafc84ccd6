"""A logs site refuses an event index that misses its own training events: a coordinator's
one-token index made every event unseen and every benign session flagged at every site (the
sites trained and signed it; only the admin's false-positive check stopped its release)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare import logs_models
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.features.vocabulary import known_tokens
from tests.engines.nvflare.logs_jobs import LOGS_JOB as JOB
from tests.engines.nvflare.logs_jobs import ORGS
from tests.engines.nvflare.memory import Memory

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def sites(logs_consortium, project) -> dict[str, Site]:
    data, scenario = logs_consortium
    return {
        n: Site(config_from_scenario(scenario, n, data, False), data,
                keys=project.identity(n), job=JOB)
        for n in ORGS
    }  # fmt: skip


def test_an_index_of_every_sites_tokens_passes_and_a_one_token_one_is_refused(
    logs_consortium, project
):
    site = sites(logs_consortium, project)[ORGS[0]]
    train = site.data("sessions").org.train.tokens
    own = known_tokens(train)
    logs_models.check_index(own, train)  # what an honest union holds of this site's
    with pytest.raises(PlanRefused, match=r"event index \(1 tokens\) misses \d+\.\d% of") as e:
        logs_models.check_index(own[:1], train)
    assert "\n" not in str(e.value)
    logs_models.check_index(np.zeros(0, np.int64), [])  # no training sessions: nothing to miss


def test_no_site_trains_a_one_token_event_index(logs_consortium, project, monkeypatch):
    honest_gather = logs_models.vocabulary.gather

    def one_token(coordinator):
        gathered = honest_gather(coordinator)
        return dataclasses.replace(gathered, index=list(gathered.index)[:1])

    monkeypatch.setattr(logs_models.vocabulary, "gather", one_token)
    _, scenario = logs_consortium
    seeding.deterministic_torch(threads=1)
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=list(ORGS)))
    result = Coordinator(spec, Memory(sites(logs_consortium, project)), list(ORGS)).run()
    assert result.error is not None and "misses" in result.error, result.error
    assert result.params is None or not result.evaluation

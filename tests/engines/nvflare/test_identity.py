"""Endorsed secure-aggregation keys: a relaying coordinator cannot substitute a site's keys."""

from dataclasses import replace

import pytest

from fedsec.engines.nvflare.coordinator import Coordinator, Refusal
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.learning.secagg import SecAggClient
from tests.engines.nvflare.kits import Project


@pytest.fixture(scope="module")
def project():
    return Project()


def test_endorsed_keys_verify_and_tampering_is_refused(project):
    alice, bob = project.identity("alice"), project.identity("bob")
    advert = SecAggClient("alice", 3).advertise()
    endorsement = alice.endorse("job-1", 3, advert)
    bob.check("job-1", 3, advert, endorsement)
    forged = replace(advert, mask_public=bytes(32))
    with pytest.raises(PlanRefused, match="signature does not match"):
        bob.check("job-1", 3, forged, endorsement)
    with pytest.raises(PlanRefused, match="signature does not match"):
        bob.check("job-2", 3, advert, endorsement)  # replayed into another job
    with pytest.raises(PlanRefused, match="not endorsed"):
        bob.check("job-1", 3, advert, None)


def test_a_certificate_from_another_ca_or_for_another_name_is_refused(project):
    bob = project.identity("bob")
    advert = SecAggClient("alice", 1).advertise()
    foreign = Project("project").identity("alice")  # same names, another root key
    with pytest.raises(PlanRefused, match="not issued by this project"):
        bob.check("job", 1, advert, foreign.endorse("job", 1, advert))
    mallory = project.identity("mallory")
    with pytest.raises(PlanRefused, match="certificate names"):
        bob.check("job", 1, advert, mallory.endorse("job", 1, advert))
    coordinator = project.identity("localhost")
    as_coordinator = replace(advert, sender="localhost")
    with pytest.raises(PlanRefused, match="certificate names"):
        bob.check("job", 1, as_coordinator, coordinator.endorse("job", 1, as_coordinator))


def test_a_coordinator_substituting_keys_is_refused_by_the_sites(project, consortium):
    data, scenario = consortium
    secure = scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"secure_aggregation": True})}
    )
    names = secure.org_names()
    keys = {n: project.identity(n) for n in names}

    def new_sites(job):  # one Site per job, as each job's executor builds
        return {
            n: Site(config_from_scenario(secure, n, data), data, keys=keys[n], job=job)
            for n in names
        }

    attacker = SecAggClient("plant", 1)  # the coordinator's own keys, posing as plant

    class Honest:
        def __init__(self, job):
            self.sites = new_sites(job)

        def exchange(self, task, data, targets, timeout):
            replies = {}
            for name in targets:
                try:
                    replies[name] = self.sites[name].handle(task, data)
                except PlanRefused as error:
                    replies[name] = Refusal(error)
            return replies

    class Substituting(Honest):
        def exchange(self, task, data, targets, timeout):
            if task == "fedsec_secagg_share":
                for entry in data["roster"]:
                    if entry["advertisement"]["sender"] == "plant":
                        keys = attacker.advertise()
                        entry["advertisement"]["cipher_public"] = keys.cipher_public
            return super().exchange(task, data, targets, timeout)

    spec = JobSpec.from_scenario(secure, [], DeploymentSettings(site_order=names, min_sites=2))
    assert Coordinator(spec, Honest("j1"), names).run().error is None
    result = Coordinator(spec, Substituting("j2"), names).run()
    assert result.error is not None
    for site in ("cloud", "office"):
        assert (
            "advertisement of 'plant' refused: signature does not match" in (result.dropouts[site])
        )

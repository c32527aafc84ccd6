"""SCAFFOLD's chain of models under secure aggregation or HE (:mod:`fedsec.engines.nvflare.
release_chain`): each round's verified (or decrypted) sum holds the sites' model changes and
their control-variate changes, so the admin replays both the global models and the control
variate ``c`` the coordinator sends, which every site signs it was sent. Hostile coordinators
here send the sites another ``c`` (steering their local training)."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.release_chain import chain_terms
from fedsec.engines.nvflare.release_records import Sighting, other_control
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.signing import params_digest
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.site_he import HeSession
from fedsec.fl.strategies.scaffold import Scaffold
from tests.engines.nvflare.memory import Recording, he_kit
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.test_final_gate import JOB, short
from tests.engines.nvflare.test_release_chain import with_privacy

pytestmark = pytest.mark.usefixtures("site_files_read_once")

SECURE = {"secure_aggregation": True}
HE = {"homomorphic_encryption": True}


class OtherControl(Recording):
    """A hostile coordinator: in round 2 every site is sent another control variate than the
    strategy's (its own, one part in a thousand larger: a model that still detects, so the
    release gets as far as the chain); it aggregates the steered sums honestly."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 2:
            data = data | {"control": [np.asarray(c) * 1.001 for c in data["control"]]}
        return super().exchange(task, data, targets, timeout)


def ungated_site(consortium, project, name: str) -> Site:
    """A site holding its kit's keys whose acceptance gate is off (a 3-round SCAFFOLD model
    may not pass it: the release would stop there, before the chain)."""
    data, scenario = consortium
    config = config_from_scenario(scenario, name, data, False)
    gate = config.gate.model_copy(update={"enabled": False})
    return Site(config.model_copy(update={"gate": gate}), data, keys=project.identity(name),
                job=JOB)  # fmt: skip


def scaffold_job(consortium, project, transport, tmp_path_factory, privacy) -> tuple:
    """(scenario, the fetched result) of a 3-round SCAFFOLD job of gated sites under
    ``privacy`` (secure aggregation or HE), over ``transport``."""
    data, scenario = short(with_privacy(consortium, **privacy))
    strategy = scenario.strategy.model_copy(update={"name": "scaffold", "server_lr": None})
    scenario = scenario.model_copy(update={"strategy": strategy})
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {name: ungated_site((data, scenario), project, name) for name in names}
    client, server = he_kit()
    if privacy is HE:
        for name, site in sites.items():
            parties = site.config.secure_aggregation
            site.he = HeSession(name, client, parties, keys=project.identity(name), job=JOB)
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names))
    result = Coordinator(spec, transport(sites), names, he_context=server).run()
    assert result.error is None
    return scenario, read_result(write_result(result, tmp_path_factory.mktemp("fetched")))


@pytest.mark.parametrize("privacy", [SECURE, HE], ids=["secure", "he"])
def test_an_honest_scaffold_job_is_replayed_and_released(
    consortium, project, signer, tmp_path, tmp_path_factory, privacy
):
    scenario, result = scaffold_job(consortium, project, Recording, tmp_path_factory, privacy)
    terms = chain_terms(scenario)
    assert terms.strategy is not None and terms.control
    assert [len(e.survivors) for e in result.transcript] == [3, 3, 3]
    assert (release(scenario, result, JOB, project, signer, tmp_path / "run") / "model").is_dir()


def test_another_control_variate_sent_is_refused(consortium, project, signer, tmp_path,
                                                 tmp_path_factory):  # fmt: skip
    """Every sum is verified as the sites computed it; what they were sent to train with is
    not the strategy's ``c``: the replay says so, naming the round and a site."""
    scenario, result = scaffold_job(consortium, project, OtherControl, tmp_path_factory, SECURE)
    why = r"cloud signed it was sent control variate \w+ in round 2, not the one the strategy's"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_site_sent_no_control_variate_is_refused():
    """A site that trained without ``c`` (sent none) where the strategy sends one each round."""
    strategy = Scaffold()
    strategy.start([np.zeros((2, 2), np.float32)], {"cloud": 10, "office": 30})
    sent = params_digest(strategy.control)
    seen = [Sighting("cloud", JOB, 1, "a" * 64, True, control=sent)]
    assert other_control(seen, 1, strategy) is None
    seen.append(Sighting("office", JOB, 1, "a" * 64, True))
    assert other_control(seen, 1, strategy) == (
        f"office signed it was sent control variate none in round 1, not the one the "
        f"strategy's steps from the rounds' sums make ({sent[:12]})"
    )

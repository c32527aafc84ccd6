"""SCAFFOLD's chain of models (:mod:`fedsec.engines.nvflare.release_chain`): in clear each
site signs its update and the control-variate change sent with it; under secure aggregation
or HE each round's verified (or decrypted) sum holds the sites' model changes and their
control-variate changes. Either way the admin replays both the global models and the control
variate ``c`` the coordinator sends, which every site signs it was sent. Hostile coordinators
here send the sites another ``c`` (steering their local training), release another final
model than the rounds' aggregate, or alter a control change in the transcript."""

from __future__ import annotations

import dataclasses

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
from tests.engines.nvflare.memory import AltersOneSite, Recording, he_kit
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.short_jobs import JOB, VICTIM, short
from tests.engines.nvflare.variants import with_privacy

pytestmark = pytest.mark.usefixtures("site_files_read_once")

SECURE = {"secure_aggregation": True}
HE = {"homomorphic_encryption": True}
CLEAR: dict[str, bool] = {}


class OtherControl(Recording):
    """A hostile coordinator: in round 2 every site is sent another control variate than the
    strategy's (its own, one part in a thousand larger: a model that still detects, so the
    release gets as far as the chain); it aggregates the steered sums honestly."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 2:
            data = data | {"control": [np.asarray(c) * 1.001 for c in data["control"]]}
        return super().exchange(task, data, targets, timeout)


class OtherControlToVictim(AltersOneSite):
    """A hostile coordinator: in round 2 one site (the victim) is sent another control
    variate than the strategy's (one part in a thousand larger), the others the strategy's;
    it aggregates every update and control change as the sites sent them."""

    def alter(self, data: dict) -> dict:
        return data | {"control": [np.asarray(c) * 1.001 for c in data["control"]]}


class LeavesOutOfTheFinal(Coordinator):
    """A hostile coordinator: its final model (evaluated, and released if the admin let it) is
    the last round's mean without the victim's update, which the round log and the transcript
    say was aggregated."""

    def train(self, *args, **kwargs):
        super().train(*args, **kwargs)
        last = self.result.transcript[-1].updates
        kept = [u for u in last if u.site != VICTIM]
        total = sum(u.samples for u in kept)
        return [
            sum(u.samples / total * np.asarray(u.params[i], np.float64) for u in kept).astype(
                np.float32
            )
            for i in range(len(kept[0].params))
        ]


def ungated_site(consortium, project, name: str) -> Site:
    """A site holding its kit's keys whose acceptance gate is off (a 3-round SCAFFOLD model
    may not pass it: the release would stop there, before the chain)."""
    data, scenario = consortium
    config = config_from_scenario(scenario, name, data, False)
    gate = config.gate.model_copy(update={"enabled": False})
    return Site(config.model_copy(update={"gate": gate}), data, keys=project.identity(name),
                job=JOB)  # fmt: skip


def scaffold_job(
    consortium, project, transport, tmp_path_factory, privacy, coordinator=Coordinator
) -> tuple:
    """(scenario, the fetched result) of a 3-round SCAFFOLD job of gated sites under
    ``privacy`` (secure aggregation, HE, or none), over ``transport``, run by
    ``coordinator``."""
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
    result = coordinator(spec, transport(sites), names, he_context=server).run()
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
        f"strategy's steps from the rounds' signed changes make ({sent[:12]})"
    )


@pytest.fixture(scope="module")
def in_clear(consortium, project, tmp_path_factory) -> tuple:
    """(scenario, fetched result) of an honest SCAFFOLD job in clear."""
    return scaffold_job(consortium, project, Recording, tmp_path_factory, CLEAR)


def test_an_honest_scaffold_job_in_clear_is_replayed_and_released(in_clear, project, signer,
                                                                  tmp_path):  # fmt: skip
    """Every update in the transcript keeps its control change, whose sha256 its site
    signed; the replay steps ``c`` from them and reaches the final model."""
    scenario, result = in_clear
    terms = chain_terms(scenario)
    assert terms.strategy is not None and terms.control and not terms.secure
    assert [len(e.updates) for e in result.transcript] == [3, 3, 3]
    assert all(u.extra is not None for e in result.transcript for u in e.updates)
    assert (release(scenario, result, JOB, project, signer, tmp_path / "run") / "model").is_dir()


def test_in_clear_another_control_variate_sent_to_one_site_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """One site trains round 2 from a ``c`` a part in a thousand off: its signed chain names
    it, and the replay, stepping ``c`` from the signed changes, names round and site."""
    scenario, result = scaffold_job(
        consortium, project, OtherControlToVictim, tmp_path_factory, CLEAR
    )
    why = rf"{VICTIM} signed it was sent control variate \w+ in round 2, not the one"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_in_clear_a_final_model_other_than_the_aggregate_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """Every round is honest but the last one's aggregate: the sites evaluate the model they
    are sent, and the replay of the signed updates reaches another one."""
    scenario, result = scaffold_job(
        consortium, project, Recording, tmp_path_factory, CLEAR, LeavesOutOfTheFinal
    )
    assert result.error is None
    why = r"the final model \(sha256 \w+\) is not the model the rounds' signed updates make"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_in_clear_an_altered_control_change_in_the_transcript_is_refused(
    in_clear, project, signer, tmp_path
):
    """The replay takes only the control changes their sites signed: one scaled by a part in
    a thousand, or left out, is refused naming round and site."""
    scenario, result = in_clear
    entry = result.transcript[1]
    first = entry.updates[0]
    for extra in ([np.asarray(c) * 1.001 for c in first.extra], None):
        altered = dataclasses.replace(first, extra=extra)
        rounds = list(result.transcript)
        rounds[1] = dataclasses.replace(entry, updates=[altered, *entry.updates[1:]])
        tampered = dataclasses.replace(result, transcript=rounds)
        why = rf"round 2's update from {first.site}: its signed extra is \w+, the replay's"
        assert_refused(scenario, tampered, JOB, why, project, signer, tmp_path)

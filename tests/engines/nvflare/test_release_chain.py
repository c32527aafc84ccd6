"""The chain of models from the rounds to the release (:mod:`fedsec.engines.nvflare.site_chain`,
:mod:`fedsec.engines.nvflare.release_chain`): each site signs the global model it received and
the update it sent every round; the admin refuses a release whose sites were shown different
models (a split view) or whose models are not the replayed aggregates of the signed updates.
Hostile coordinators here tamper with the globals they send in the rounds, which each site,
alone, cannot tell: it never sees its peers' updates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from cryptography import x509

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.release_records import Segment, sightings, steered
from fedsec.engines.nvflare.results import read_result
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.signing import FIELD, open_signed, params_digest
from fedsec.engines.nvflare.site_chain import ROUND_FIELDS
from fedsec.engines.nvflare.site_he import HeSession
from tests.engines.nvflare.implants import LastRoundImplant, implanted
from tests.engines.nvflare.memory import AltersOneSite, Recording, he_kit
from tests.engines.nvflare.releases import assert_refused, assert_refused_withheld
from tests.engines.nvflare.short_jobs import JOB, VICTIM, gated_site, run_job, short
from tests.engines.nvflare.variants import with_privacy

pytestmark = pytest.mark.usefixtures("site_files_read_once")


class SplitView(AltersOneSite):
    """A hostile coordinator: in round 2 one site is sent the backdoored global model, the
    others the honest one (each site alone sees a well-formed model and trains on it)."""

    def alter(self, data: dict) -> dict:
        return data | {"params": implanted(data["params"], parse_setup(data["model"]))}


class Steers(Recording):
    """A hostile coordinator: in round 3 of a FedAvg job it sends every site a control variate
    (SCAFFOLD's ``c``, which this strategy never sends), added to every local gradient: the
    sites train, sign and send updates steered its way, which it then aggregates honestly."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 3:
            data = steering(data)
        return super().exchange(task, data, targets, timeout)


class SteersVictim(AltersOneSite):
    """As :class:`Steers`, to the victim only (whose evaluation the coordinator withholds)."""

    altered_round = 3

    def alter(self, data: dict) -> dict:
        return steering(data)


def steering(data: dict) -> dict:
    """A train task with a control variate of 0.05 everywhere (its direction: any)."""
    return data | {"control": [np.full_like(np.asarray(p), 0.05) for p in data["params"]]}


STEERED = r"(\w+) signed it was sent a control variate \(\w+\) in round 3, which strategy fedavg"


@pytest.fixture(scope="module")
def honest(short_honest_job):
    scenario, fetched, link = short_honest_job
    return scenario, read_result(fetched), link


def test_each_update_carries_the_sites_signed_digests(honest, project):
    """Every round's reply signs the global model the site was sent and the update it sent;
    the result's transcript keeps every aggregated update with its statement."""
    _, result, link = honest
    anchor = x509.load_pem_x509_certificate(project.root_pem())
    trained = [d for d in link.sent if "plan" in d and "params" in d and "target_fpr" not in d]
    sent = {d["plan"]["round"]: d["params"] for d in trained}
    assert [e.round for e in result.transcript] == [1, 2, 3]
    for entry in result.transcript:
        assert sorted(u.site for u in entry.updates) == sorted(result.sites)
        for update in entry.updates:
            statement = open_signed(anchor, update.site, update.statement, ROUND_FIELDS)
            assert statement["round"] == entry.round and statement["job"] == JOB
            assert statement["global"] == params_digest(sent[entry.round])
            assert statement["update"] == params_digest(update.params)
            assert statement["samples"] == update.samples
    replies = link.replies["fedsec_train"]
    assert len(replies) == 9 and all(FIELD in r for r in replies)


def test_a_split_view_is_refused(consortium, project, signer, tmp_path, tmp_path_factory):
    """Each site signs and accepts what it was sent; the admin compares their chains."""
    scenario, fetched, _ = run_job(consortium, project, SplitView, tmp_path_factory)
    result = read_result(fetched)
    assert all(r["accepted"] for r in result.evaluation.values())
    why = r"the sites signed different global models for round 2 \(a split view"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_backdoor_sent_in_a_round_is_refused(consortium, project, signer, tmp_path,
                                               tmp_path_factory):  # fmt: skip
    """The final model is the honest aggregate of the last round; the global model every site
    trained from in that round is not the aggregate of round 2: the replay says so."""
    scenario, fetched, _ = run_job(consortium, project, LastRoundImplant, tmp_path_factory)
    result = read_result(fetched)
    why = r"signed it was sent global model \w+ in round 3, not the model the rounds' signed"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_transcript_update_changed_by_the_coordinator_is_refused(honest, project, signer,
                                                                   tmp_path):  # fmt: skip
    """The admin replays only updates their sites signed (weights included)."""
    scenario, result, _ = honest
    entry = result.transcript[0]
    first = dataclasses.replace(entry.updates[0], samples=entry.updates[0].samples + 1)
    tampered = dataclasses.replace(result, transcript=[
        dataclasses.replace(entry, updates=[first, *entry.updates[1:]]), *result.transcript[1:]
    ])  # fmt: skip
    why = rf"round 1's update from {first.site}: its signed samples is"
    assert_refused(scenario, tampered, JOB, why, project, signer, tmp_path)
    scaled = dataclasses.replace(entry.updates[1], params=[2 * p for p in entry.updates[1].params])
    tampered.transcript[0] = dataclasses.replace(entry, updates=[entry.updates[0], scaled,
                                                                 *entry.updates[2:]])  # fmt: skip
    why = rf"round 1's update from {scaled.site}: its signed update is"
    assert_refused(scenario, tampered, JOB, why, project, signer, tmp_path)


def test_a_transcript_left_out_is_refused(honest, project, signer, tmp_path):
    """A coordinator cannot skip the replay by writing no transcript: the sites signed their
    chain with the evaluation, and the replay from the seeded model alone does not reach it."""
    scenario, result, _ = honest
    bare = dataclasses.replace(result, transcript=[])
    why = r"signed it was sent global model \w+ in round 2"
    assert_refused(scenario, bare, JOB, why, project, signer, tmp_path)
    assert np.isfinite(result.params[0]).all()


def split_view_job(consortium, project, he: bool) -> tuple:
    """(scenario, result) of a 3-round job of gated sites under secure aggregation (``he``
    False) or HE, whose coordinator shows one site another global model in round 2."""
    client, server = he_kit()
    protected = short(with_privacy(consortium, secure_aggregation=not he,
                                   homomorphic_encryption=he))  # fmt: skip
    _, scenario = protected
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {n: gated_site(protected, project, n) for n in names}
    for name, site in sites.items():
        site.he = HeSession(name, client, site.config.secure_aggregation)
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names))
    return scenario, Coordinator(spec, SplitView(sites), names, he_context=server).run()


def test_under_secure_aggregation_the_sites_refuse_a_split_view_in_the_round(consortium, project):
    """Secure aggregation's own check: each site signs the request it answered, and reveals
    nothing unless every survivor signed the same (so no round aggregates a split view)."""
    _, result = split_view_job(consortium, project, he=False)
    assert result.params is None
    assert "a coordinator that sends parties different requests" in str(result.error)


def test_under_he_a_split_view_is_refused_at_release(consortium, project, signer, tmp_path):
    """Under HE no site checks its peers' requests: the admin compares the chains the sites
    signed (before any replay of the decrypted totals), and names the round."""
    scenario, result = split_view_job(consortium, project, he=True)
    assert result.error is None and all(e.updates == [] for e in result.transcript)
    assert all(r["accepted"] for r in result.evaluation.values())
    why = r"the sites signed different global models for round 2 \(a split view"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_an_update_from_a_site_outside_the_job_is_refused(honest, project, signer, tmp_path):
    """Only the admin's scenario's sites may have updates replayed into the model."""
    scenario, result, _ = honest
    entry = result.transcript[0]
    stranger = dataclasses.replace(entry.updates[0], site="intruder")
    doctored = dataclasses.replace(result, transcript=[
        dataclasses.replace(entry, updates=[*entry.updates, stranger]), *result.transcript[1:]
    ])  # fmt: skip
    why = r"the result names intruder, not among the job's sites"
    assert_refused(scenario, doctored, JOB, why, project, signer, tmp_path)


def test_a_learning_curve_model_the_rounds_did_not_make_is_refused(honest, project, signer,
                                                                    tmp_path):  # fmt: skip
    """The report's curve snapshots are replayed too (the honest job's are released)."""
    scenario, result, _ = honest
    assert sorted(result.curve) == [2]
    curve = {2: [np.zeros_like(p) for p in result.curve[2]]}
    doctored = dataclasses.replace(result, curve=curve)
    why = r"the learning curve's model of round 2 is not the model the rounds' signed updates"
    assert_refused(scenario, doctored, JOB, why, project, signer, tmp_path)


def test_a_control_variate_sent_in_a_fedavg_job_is_refused(consortium, project, signer,
                                                           tmp_path, tmp_path_factory):  # fmt: skip
    """Each steered update is aggregated as its site signed it, so the replay of the
    aggregation alone passes; the chains the sites signed say they were sent a control."""
    scenario, fetched, link = run_job(consortium, project, Steers, tmp_path_factory)
    result = read_result(fetched)
    assert any("control" in d for d in link.sent)
    assert all(r["accepted"] for r in result.evaluation.values())
    assert_refused(scenario, result, JOB, STEERED, project, signer, tmp_path)


def test_a_control_variate_sent_to_a_site_whose_evaluation_is_withheld_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """Its update's round statement, in the transcript, names the control it was sent."""
    scenario, fetched, _ = run_job(consortium, project, SteersVictim, tmp_path_factory)
    why = rf"round 3's update from {VICTIM}: its signed control is \w+, the replay's None"
    assert_refused_withheld(scenario, fetched, VICTIM, JOB, why, project, signer, tmp_path)


def test_a_malformed_control_in_a_signed_chain_is_refused():
    parts = [Segment(JOB, "", 1, 3)]
    entry = {"round": 1, "global": "a" * 64, "update": None, "samples": None}
    assert steered(sightings({"cloud": [entry]}, parts), "fedavg") is None
    with pytest.raises(ValueError, match="cloud's signed chain of models holds a malformed"):
        sightings({"cloud": [entry | {"control": 1}]}, parts)
    (seen,) = sightings({"cloud": [entry | {"control": "b" * 64}]}, parts)
    assert seen.control == "b" * 64
    assert steered([seen], "fedavg") == (
        f"cloud signed it was sent a control variate ({'b' * 12}) in round 1, which strategy "
        "fedavg never sends: the coordinator steered its local training"
    )

"""The chain of models under secure aggregation (:mod:`fedsec.engines.nvflare.release_sums`):
each survivor verifies the round's unmasked sum against its check values and signs its sha256,
the coordinator keeps the sum in the transcript, and the admin replays every round from it.
Hostile coordinators here alter the sum, skip the verify phase, or send (and release) a model
the strategy's step from the verified sums did not make, the same to every site (no split view
for the sites' secure-aggregation check to catch)."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.signing import FIELD
from fedsec.scenarios.config import ClientDpConfig
from tests.engines.nvflare.implants import BackdoorFinal, LastRoundImplant
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.resumed_jobs import AGAIN, FIRST, resume
from tests.engines.nvflare.secure_jobs import (
    VERIFY,
    AlteredSum,
    SkipsVerify,
    digest,
    secure_job,
    signed,
)
from tests.engines.nvflare.short_jobs import JOB
from tests.engines.nvflare.variants import with_privacy

pytestmark = pytest.mark.usefixtures("site_files_read_once")


class OtherSurvivors(AlteredSum):
    """A hostile coordinator: the honest sum of round 2, announced over one survivor fewer
    (the sum the sites verify is always the one over the survivors they confirmed)."""

    def exchange(self, task, data, targets, timeout):
        if task == VERIFY and data["round"] == 2:
            fewer = {"survivors": data["survivors"][1:]}
            self.answers = Recording.exchange(self, task, data | fewer, targets, timeout)
            return self.answers
        return Recording.exchange(self, task, data, targets, timeout)


@pytest.fixture(scope="module")
def honest(short_secure_job):
    scenario, result, link = short_secure_job
    return scenario, copy.deepcopy(result), link


def test_an_honest_secure_job_is_replayed_from_its_verified_sums(honest, project, signer,
                                                                  tmp_path):  # fmt: skip
    """Every survivor verified each round's sum and signed its digest; the transcript keeps
    the sums (no update in clear), and the replay from them reaches the released model."""
    scenario, result, link = honest
    assert [e.round for e in result.transcript] == [1, 2, 3]
    for entry in result.transcript:
        assert entry.updates == [] and entry.sum.dtype == np.uint32
        assert entry.survivors == sorted(result.sites)
    answers = link.replies[VERIFY]
    sums = {digest(e.sum) for e in result.transcript}
    assert {a["verified"] for a in answers} >= sums
    for site, evaluation in result.evaluation.items():
        chain = json.loads(evaluation[FIELD]["statement"])["chain"]
        chained = {e["round"]: e["sum"] for e in chain}
        assert chained == {e.round: signed(e.sum, e.survivors) for e in result.transcript}, site
    assert release(scenario, result, JOB, project, signer, tmp_path / "run").is_dir()


def test_a_transcript_sum_changed_after_the_sites_verified_it_is_refused(honest, project, signer,
                                                                         tmp_path):  # fmt: skip
    """The admin replays only the sum the sites signed they verified, over the survivors they
    signed it over: a sum changed, or kept over no survivors (before: refused only as a sum no
    evaluating site survived), is refused naming a site's signature."""
    scenario, result, _ = honest
    entry = result.transcript[0]
    changed = np.array(entry.sum, copy=True)
    changed[3] ^= np.uint32(1 << 16)
    doctored = dataclasses.replace(
        result, transcript=[dataclasses.replace(entry, sum=changed), *result.transcript[1:]]
    )
    why = r"signed it verified sum \w+ in round 1, not the transcript's sum"
    assert_refused(scenario, doctored, JOB, why, project, signer, tmp_path)
    unvouched = dataclasses.replace(
        result, transcript=[dataclasses.replace(entry, survivors=[]), *result.transcript[1:]]
    )
    why = r"signed it verified sum \w+ in round 1, not the transcript's sum \(\w+\) over its "
    assert_refused(scenario, unvouched, JOB, why + r"survivors \(\)", project, signer, tmp_path)


def test_the_sites_refuse_a_sum_the_coordinator_altered(consortium, project, tmp_path_factory):
    """Each survivor checks the sum against its check values: none accepts the altered one."""
    _, result, link = secure_job(consortium, project, AlteredSum, tmp_path_factory)
    assert sorted(link.answers) == sorted(result.sites)
    for site, answer in link.answers.items():
        assert isinstance(answer, Refusal), (site, answer)
        assert "secure aggregation refused (verify, round 2)" in answer
        assert "check values do not match" in answer
    second = next(h for h in result.history if h.round == 2)
    assert sorted(second.refused) == sorted(result.sites)


def test_the_sites_refuse_a_sum_announced_over_other_survivors(consortium, project,
                                                              tmp_path_factory):  # fmt: skip
    _, result, link = secure_job(consortium, project, OtherSurvivors, tmp_path_factory)
    assert sorted(link.answers) == sorted(result.sites)
    for answer in link.answers.values():
        assert isinstance(answer, Refusal) and "sum: announced over" in answer


def test_a_coordinator_that_skips_the_verify_phase_is_refused_at_release(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """No site signed a verified sum: the rounds cannot be replayed, and nothing is released."""
    scenario, result, _ = secure_job(consortium, project, SkipsVerify, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"\w+ survived round 1's secure sum but signed no verified sum of it"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_backdoor_sent_to_every_site_in_a_secure_round_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """Every site is sent the same implanted model in round 3 (so the sites' own check of the
    request they answered passes); it is not the step from round 2's verified sum."""
    scenario, result, _ = secure_job(consortium, project, LastRoundImplant, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"signed it was sent global model \w+ in round 3, not the model the rounds' signed"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_a_backdoored_final_model_under_secure_aggregation_is_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """The rounds and their sums are honest; the model released is not their last step."""
    scenario, result, _ = secure_job(consortium, project, BackdoorFinal, tmp_path_factory)
    assert result.error is None and result.evaluation
    why = r"the final model \(sha256 \w+\) is not the model the rounds' signed updates make"
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def test_under_client_dp_the_replay_runs_from_the_noised_verified_sums(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """The sites' client-level noise is inside the sum they verify: an honest job is replayed
    and released, a backdoored final model is refused."""
    noised = {"client_dp": ClientDpConfig(noise_multiplier=0.05)}
    scenario, result, _ = secure_job(consortium, project, Recording, tmp_path_factory, **noised)
    assert [e.round for e in result.transcript] == [1, 2, 3]
    assert release(scenario, result, JOB, project, signer, tmp_path / "run").is_dir()
    scenario, result, _ = secure_job(consortium, project, BackdoorFinal, tmp_path_factory, **noised)
    why = r"the final model \(sha256 \w+\) is not the model the rounds' signed updates make"
    refused = tmp_path / "refused"
    refused.mkdir()
    assert_refused(scenario, result, JOB, why, project, signer, refused)


def test_a_resumed_secure_job_is_replayed_across_both_jobs(consortium, project, signer, tmp_path,
                                                           tmp_path_factory):  # fmt: skip
    """Rounds 1 and 2 from the checkpoint's verified sums, signed in the interrupted job (each
    site carries its ledger's records of it), round 3 in the resumed one: released; a
    checkpointed sum altered is refused, naming the site and the round."""
    protected = with_privacy(consortium, secure_aggregation=True)
    scenario, result = resume(protected, project, tmp_path_factory)
    assert [e.sum is not None for e in result.transcript] == [True, True, True]
    assert (release(scenario, result, AGAIN, project, signer, tmp_path / "run") / "model").is_dir()
    entry = result.transcript[1]
    changed = np.array(entry.sum, copy=True)
    changed[0] ^= np.uint32(1)
    transcript = [result.transcript[0], dataclasses.replace(entry, sum=changed)]
    doctored = dataclasses.replace(result, transcript=[*transcript, result.transcript[2]])
    why = r"signed it verified sum \w+ in round 2, not the transcript's sum"
    refused = tmp_path / "refused"
    refused.mkdir()
    assert_refused(scenario, doctored, AGAIN, why, project, signer, refused)
    for evaluation in result.evaluation.values():
        chain = json.loads(evaluation[FIELD]["statement"])["chain"]
        carried = {e["round"]: e.get("sum") for e in chain if e.get("job") == FIRST}
        first, second = result.transcript[:2]
        assert carried[1] == signed(first.sum, first.survivors)  # round 3 in flight: none
        assert carried[2] == signed(second.sum, second.survivors) and carried[3] is None

"""A job in clear resumed after a coordinator crash is replayed across both jobs
(:mod:`fedsec.engines.nvflare.release_records`, :mod:`fedsec.engines.nvflare.release_chain`):
the checkpoint keeps the interrupted job's transcript, each site carries its own ledger's
records of that job into the chain it signs, and a coordinator that alters, drops or splices
the rounds before the resume is refused."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography import x509

from fedsec.engines.nvflare.attestation import STATEMENT_FIELDS
from fedsec.engines.nvflare.results import DeploymentError, read_result
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.signing import FIELD, open_signed
from fedsec.experiments.deployed import write_site_only_run
from tests.engines.nvflare.implants import implanted
from tests.engines.nvflare.memory import Crash, Recording
from tests.engines.nvflare.releases import assert_refused, release
from tests.engines.nvflare.resumed_jobs import AGAIN, FIRST, FIRST_RELEASE, resume
from tests.engines.nvflare.short_jobs import VICTIM

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture(scope="module")
def resumed(consortium, project, tmp_path_factory):
    return resume(consortium, project, tmp_path_factory)


def test_a_resumed_job_in_clear_is_replayed_across_both_jobs_and_released(
    resumed, project, signer, tmp_path
):
    scenario, result = resumed
    assert [e.round for e in result.transcript] == [1, 2, 3]  # 1, 2 from the checkpoint
    out = release(scenario, result, AGAIN, project, signer, tmp_path / "run")
    assert (out / "model").is_dir()


def test_each_site_signs_its_own_records_of_the_interrupted_job(resumed, project):
    """Carried from its ledger: rounds 1 and 2, and 3 in flight, under the first job's id and
    nonce; then its own round 3."""
    _, result = resumed
    for site, reply in result.evaluation.items():
        chain = _signed_chain(project, site, reply)
        carried = [(e["job"], e["release"], e["round"]) for e in chain if "job" in e]
        assert carried == [(FIRST, FIRST_RELEASE, r) for r in (1, 2, 3)]
        assert [e["round"] for e in chain if "job" not in e] == [3]
        assert chain[2]["global"] == chain[3]["global"]  # round 3 resumed from the checkpoint


def _signed_chain(project, site, reply):
    anchor = x509.load_pem_x509_certificate(project.root_pem())
    return open_signed(anchor, site, reply[FIELD], STATEMENT_FIELDS)["chain"]


def test_an_update_of_the_checkpointed_transcript_altered_is_refused(
    resumed, project, signer, tmp_path
):
    scenario, result = resumed
    entry = result.transcript[1]
    scaled = dataclasses.replace(entry.updates[0], params=[2 * p for p in entry.updates[0].params])
    altered = [result.transcript[0], dataclasses.replace(entry, updates=[scaled,
               *entry.updates[1:]]), result.transcript[2]]  # fmt: skip
    tampered = dataclasses.replace(result, transcript=altered)
    why = rf"round 2's update from {scaled.site}: its signed update is"
    assert_refused(scenario, tampered, AGAIN, why, project, signer, tmp_path)


def test_a_round_of_the_interrupted_job_dropped_is_refused(resumed, project, signer, tmp_path):
    scenario, result = resumed
    dropped = dataclasses.replace(result, transcript=result.transcript[1:])
    why = (
        rf"signed it was sent global model \w+ in round 2 of job {FIRST}, not the model the "
        r"rounds' signed updates make \(\w+\) \(the transcript holds no updates of round 1\)"
    )
    assert_refused(scenario, dropped, AGAIN, why, project, signer, tmp_path)


def test_rounds_of_another_job_spliced_in_are_refused(resumed, short_honest_job, project, signer,
                                                      tmp_path):  # fmt: skip
    """Round 1 of an honest job of the same scenario, its updates signed for that job."""
    scenario, result = resumed
    other = read_result(short_honest_job[1])
    spliced = dataclasses.replace(result, transcript=[other.transcript[0], *result.transcript[1:]])
    why = r"round 1's update from \w+: its signed job is job-short, the replay's job-first"
    assert_refused(scenario, spliced, AGAIN, why, project, signer, tmp_path)


def test_a_result_naming_another_job_resumed_than_the_sites_records_is_refused(
    resumed, project, signer, tmp_path
):
    """The sites' signed records name the job they carried rounds of."""
    scenario, result = resumed
    renamed = dataclasses.replace(result, resumed=[{"job": "job-elsewhere", "round": 2}])
    why = r"carries rounds of job job-first, which this job did not resume"
    assert_refused(scenario, renamed, AGAIN, why, project, signer, tmp_path)


class HidesTheResume(Recording):
    """A hostile coordinator: it does not tell the sites, at the evaluation, which job this
    one resumed (so that none carries its records of it)."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_evaluate":
            data = {k: v for k, v in data.items() if k != "resumed"}
        return super().exchange(task, data, targets, timeout)


def test_a_resume_hidden_from_the_sites_is_refused(consortium, project, signer, tmp_path,
                                                   tmp_path_factory):  # fmt: skip
    """The rounds signed for the interrupted job are replayed only with the nonce the sites'
    own records of it name."""
    scenario, result = resume(consortium, project, tmp_path_factory, again=HidesTheResume)
    why = rf"no site carried its own record of job {FIRST} \(from its ledger file\)"
    assert_refused(scenario, result, AGAIN, why, project, signer, tmp_path)


class SplitViewInFlight(Recording):
    """A hostile coordinator: in round 3 it sends office alone a backdoored model (to read
    the update office trains on it), then 'crashes' (nothing of round 3 is checkpointed) and
    resumes from round 2."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 3:
            victim = {**data, "params": implanted(data["params"], parse_setup(data["model"]))}
            super().exchange(task, victim, [VICTIM], timeout)
            raise Crash
        return super().exchange(task, data, targets, timeout)


def test_a_model_sent_in_the_round_in_flight_at_the_crash_is_checked(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """The round in flight when the interrupted job stopped started from the checkpoint's
    model, as the resumed job's first round does: the sites' records of it must say so."""
    scenario, result = resume(consortium, project, tmp_path_factory, crashing=SplitViewInFlight)
    why = rf"different global models for round 3 \(a split view.*{VICTIM} \(job {FIRST}\)"
    assert_refused(scenario, result, AGAIN, why, project, signer, tmp_path)


def test_the_job_resumed_must_be_the_one_the_admin_named(resumed, project, signer, tmp_path):
    """``job submit --resume JOB``: the result's resumed job is checked against JOB, and a
    submission that resumed none is refused a result that says it did."""
    scenario, result = resumed
    root = project.root_pem()
    out = write_site_only_run(scenario, result, AGAIN, tmp_path / "run", signer, trust=root,
                              resumed=FIRST)  # fmt: skip
    assert (out / "model").is_dir()
    for named, said in (("job-other", "resumed job-other"), ("", "resumed none")):
        with pytest.raises(
            DeploymentError, match=rf"resumed {FIRST}, where this submission {said}"
        ):
            write_site_only_run(scenario, result, AGAIN, tmp_path / "refused", signer,
                                trust=root, resumed=named)  # fmt: skip
        assert not (tmp_path / "refused").exists()

"""A site that dies mid-run: the job completes without it. The killed site is started again
before the test ends, so the session's federation is whole for the tests after it.

The site crashes (SIGKILL) once its reply to a task has left it and before the coordinator took
it: a site that died once it had announced its reply, before the coordinator downloaded the
reply's arrays from it, made NVFlare end the job FINISHED:EXECUTION_EXCEPTION although every
round completed (see job.INLINE_ARRAYS)."""

from __future__ import annotations

import signal
import time

import pytest

pytest.importorskip("nvflare")

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.keys import user_trust
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.identity import kit_signer
from fedsec.engines.nvflare.job import build_job, fetch, job_release, session, submit, wait
from fedsec.engines.nvflare.results import DeploymentError, read_result
from fedsec.experiments.deployed import write_site_only_run
from tests.engines.nvflare.loopback import (
    JOB_TIMEOUT,
    crash,
    family_of,
    relaunch,
    send,
    spec_for,
    wait_for,
)

pytestmark = pytest.mark.deployment
ROUNDS = 6
WORKING = "invoking task executor"  # NVFlare's log lines at a site, as it runs a task
PUSHING = "Starting to push execute result"  # and as it sends the reply


def test_a_site_killed_mid_run_leaves_the_job_completing(federation, consortium, tmp_path):
    _, scenario = consortium
    *survivors, victim = scenario.org_names()  # the last in the job's site order
    # killed once round 2 is logged, as it replies to its next task: 2 rounds or more left,
    # and the job ends without it (the victim's killed-while-replying round may still count)
    long = scenario.model_copy(update={"rounds": ROUNDS})
    spec = spec_for(long, min_sites=2, round_timeout=8.0)
    folder = build_job(spec, tmp_path / "job")
    try:
        with session(federation.admin_kit, federation.admin) as admin:
            job_id = submit(admin, folder)
            log = federation.kit(poc.SERVER) / job_id / "log.txt"
            assert wait_for(log, "round 2:", 0, 120), "the job never reached round 2"
            crash_while_replying(federation, victim, job_id)
            meta = wait(admin, job_id, JOB_TIMEOUT)
            result = read_result(fetch(admin, job_id, tmp_path / "results"))
    finally:
        relaunch(federation, victim)  # the session's federation is whole again
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result.error is None and result.params is not None
    assert list(result.dropouts) == [victim]
    assert len(result.history) == ROUNDS
    assert result.history[-1].contributed == survivors
    ca = federation.admin_kit / "startup" / "rootCA.pem"
    signer = kit_signer(federation.admin_kit)  # the survivors' signed evaluations checked first
    release = job_release(tmp_path)  # the nonce of the job built above, signed back by sites
    out, root = tmp_path / "run", ca.read_bytes()
    with pytest.raises(DeploymentError, match=rf"no evaluation of {victim}; --min-sites"):
        write_site_only_run(long, result, job_id, out, signer, trust=root, release=release)
    # the admin who gave --min-sites 2 accepts a release on the survivors' evaluations
    run = write_site_only_run(
        long, result, job_id, out, signer, trust=root, release=release, least=2
    )
    report = (run / "report.md").read_text()
    assert f"- **{victim}**: no reply to fedsec_train within 8 s" in report
    _, manifest = load_bundle(run / "model", user_trust([ca]))  # signed by the admin's kit
    assert manifest["provenance"]["job_id"] == job_id


def crash_while_replying(federation: poc.Poc, victim: str, job_id: str) -> None:
    """Kill ``victim`` once its reply to the task it runs has left it but before the
    coordinator took it: the site is paused mid-task, the coordinator's job process is
    paused, the site resumes and replies, and dies a second later; then the coordinator
    resumes and finds a reply from a site that is gone."""
    replies = federation.kit(victim) / job_id / "log.txt"  # the site's log of the job
    family = family_of(federation, victim)
    coordinator = family_of(federation, poc.SERVER)[1:]  # its job process
    working = wait_for(replies, WORKING, replies.stat().st_size, 30, poll=0.002)
    assert working, f"{victim} got no task"
    send(family, signal.SIGSTOP)  # mid-task: its reply is not sent yet
    try:
        send(coordinator, signal.SIGSTOP)
        send(family, signal.SIGCONT)
        assert wait_for(replies, PUSHING, working, 30), f"{victim} never replied"
        time.sleep(1.0)  # the reply is on its way; the site waits for the coordinator
        crash(federation, victim, family)
    finally:
        send(coordinator, signal.SIGCONT)

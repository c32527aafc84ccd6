"""A site that dies mid-run: the job completes without it. The killed site is started again
before the test ends, so the session's federation is whole for the tests after it."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("nvflare")

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.keys import user_trust
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.identity import kit_signer
from fedsec.engines.nvflare.job import build_job, fetch, session, submit, wait
from fedsec.engines.nvflare.results import read_result
from fedsec.experiments.deployed import write_site_only_run
from tests.engines.nvflare.loopback import JOB_TIMEOUT, relaunch, spec_for, text_of

pytestmark = pytest.mark.deployment
ROUNDS = 12


def test_a_site_killed_mid_run_leaves_the_job_completing(federation, consortium, tmp_path):
    _, scenario = consortium
    *survivors, victim = scenario.org_names()  # the last in the job's site order
    # killed once round 2 is logged: 10 rounds left for it to be gone (it is within a second;
    # the kill's grace is 10 s), and the job then ends without it
    long = scenario.model_copy(update={"rounds": ROUNDS})
    spec = spec_for(long, min_sites=2, round_timeout=8.0)
    folder = build_job(spec, tmp_path / "job")
    try:
        with session(federation.admin_kit, federation.admin) as admin:
            job_id = submit(admin, folder)
            log = federation.kit(poc.SERVER) / job_id / "log.txt"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and "round 2:" not in text_of(log):
                time.sleep(0.2)
            assert "round 2:" in text_of(log), "the job never reached round 2"
            assert poc.kill(federation.pids.pop(victim), federation.kit(victim))
            meta = wait(admin, job_id, JOB_TIMEOUT)
            result = read_result(fetch(admin, job_id, tmp_path / "results"))
    finally:
        relaunch(federation, victim)  # the session's federation is whole again
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result.error is None and result.params is not None
    assert list(result.dropouts) == [victim]
    assert len(result.history) == ROUNDS
    assert result.history[-1].contributed == survivors
    run = write_site_only_run(
        long, result, job_id, tmp_path / "run", kit_signer(federation.admin_kit)
    )
    report = (run / "report.md").read_text()
    assert f"- **{victim}**: no reply to fedsec_train within 8 s" in report
    ca = federation.admin_kit / "startup" / "rootCA.pem"
    _, manifest = load_bundle(run / "model", user_trust([ca]))  # signed by the admin's kit
    assert manifest["provenance"]["job_id"] == job_id

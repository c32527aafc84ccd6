import importlib
import json
import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("nvflare")

import numpy as np
import yaml

from fedsec.engines.nvflare.provision import (
    CONTROLLER_PATH,
    EXECUTOR_PATH,
    RECOVERY_PATH,
    Admin,
    FederationSpec,
    Identity,
    provision,
)


def two_sites(project: str, **options) -> FederationSpec:
    return FederationSpec(
        project=project,
        coordinator="localhost",
        sites=[Identity(name="org1", org="org1"), Identity(name="org2", org="org2")],
        admins=[Admin(name="admin@consortium.org", org="consortium")],
        **options,
    )


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    spec = two_sites("hardened", job_storage=str(tmp_path_factory.mktemp("store")))
    return provision(spec, tmp_path_factory.mktemp("federation"))


def test_no_role_may_bring_custom_code_anywhere(kits):
    for participant in ("localhost", "org1", "org2"):
        policy = json.loads((kits / participant / "local" / "authorization.json").read_text())
        for role, rights in policy["permissions"].items():
            assert isinstance(rights, dict), role
            assert rights.get("byoc", "none") == "none", (participant, role)


def test_sites_allow_only_fedsecs_executor_and_no_log_streaming(kits):
    for site in ("org1", "org2"):
        resources = json.loads((kits / site / "local" / "resources.json").read_text())
        assert resources["class_allow_list"] == [EXECUTOR_PATH]
        assert resources["class_list_enforcement_mode"] == "enforce"
        assert resources["allow_log_streaming"] is False
        assert not any("LogStreamer" in c["path"] for c in resources["components"])
        startup = json.loads((kits / site / "startup" / "fed_client.json").read_text())
        assert startup["require_signed_jobs"] is True
        assert startup["client"]["connection_security"] == "mtls"
    server = json.loads((kits / "localhost" / "local" / "resources.json").read_text())
    assert server["class_allow_list"] == [CONTROLLER_PATH]
    assert "/tmp/nvflare" not in json.dumps(server)
    startup = json.loads((kits / "localhost" / "startup" / "fed_server.json").read_text())
    assert startup["require_signed_jobs"] is True


def test_the_coordinators_admin_cannot_operate_or_inspect_a_site(kits):
    policy = json.loads((kits / "org1" / "local" / "authorization.json").read_text())
    admin = policy["permissions"]["project_admin"]
    assert admin["operate"] == "o:site" and admin["shell_commands"] == "o:site"


def test_the_coordinator_repairs_its_job_store_when_it_starts(kits):
    server = json.loads((kits / "localhost" / "local" / "resources.json").read_text())
    assert {"id": "fedsec_recovery", "path": RECOVERY_PATH} in server["components"]
    for site in ("org1", "org2"):
        resources = json.loads((kits / site / "local" / "resources.json").read_text())
        assert RECOVERY_PATH not in json.dumps(resources)


def test_only_the_coordinator_lets_job_managers_read_a_jobs_log(kits):
    coordinator = json.loads((kits / "localhost" / "local" / "authorization.json").read_text())
    assert coordinator["permissions"]["project_admin"]["get_job_log"] == "any"
    assert coordinator["permissions"]["org_admin"]["get_job_log"] == "none"
    site = json.loads((kits / "org1" / "local" / "authorization.json").read_text())
    assert site["permissions"]["project_admin"].get("get_job_log", "none") == "none"


def test_allow_listed_paths_are_the_installed_classes():
    for path in (EXECUTOR_PATH, CONTROLLER_PATH, RECOVERY_PATH):
        module, name = path.rsplit(".", 1)
        assert getattr(importlib.import_module(module), name).__name__ == name


def test_project_file_is_written_for_nvflare_provision(kits):
    project = yaml.safe_load((kits.parents[2] / "project.yml").read_text())
    names = [b["path"].rsplit(".", 1)[1] for b in project["builders"]]
    assert names.index("HardeningBuilder") < names.index("SignatureBuilder")
    assert {p["name"] for p in project["participants"]} >= {"localhost", "org1", "org2"}


def test_he_provisioning_gives_sites_the_key_and_the_coordinator_none(tmp_path):
    from fedsec.engines.nvflare.hekeys import coordinator_context, load_kit_context
    from fedsec.fl.privacy import he

    spec = two_sites("encrypted", homomorphic_encryption=True)
    kits = provision(spec, tmp_path)
    assert {
        b["path"].rsplit(".", 1)[1]
        for b in yaml.safe_load((tmp_path / "project.yml").read_text())["builders"]
    } >= {"HEBuilder", "SignatureBuilder"}
    server_startup = kits / "localhost" / "startup"
    assert not (server_startup / he.CLIENT_CONTEXT).exists()
    blind = coordinator_context(server_startup)
    keys = [
        he.load_context(load_kit_context(kits / s / "startup", he.CLIENT_CONTEXT), True, s)
        for s in ("org1", "org2")
    ]
    sum_ = he.add(blind, [he.encrypt(k, np.ones(3)) for k in keys], "sum")
    assert np.allclose(he.decrypt(keys[1], sum_, 3, "sum"), 2.0)
    tampered = server_startup / he.SERVER_CONTEXT
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    with pytest.raises(he.HeError, match="not as provisioning signed it"):
        coordinator_context(server_startup)
    plain = provision(spec.model_copy(update={"homomorphic_encryption": False}), tmp_path / "p")
    with pytest.raises(he.HeError, match="provisioned without --he"):
        load_kit_context(plain / "org1" / "startup", he.CLIENT_CONTEXT)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_private_file_is_readable_by_its_owner_only(tmp_path):
    previous = os.umask(0o000)  # the most permissive umask: nothing may rely on the user's
    try:
        kits = provision(two_sites("secret", homomorphic_encryption=True), tmp_path)
    finally:
        os.umask(previous)
    state = kits.parent / "state"
    cert_state = json.loads((state / "cert.json").read_text())
    assert "root_pri_key" in cert_state and "pri_key" in cert_state["org1"]  # what it guards
    assert mode(state) == 0o700 and mode(state / "cert.json") == 0o600
    assert mode(tmp_path / "kits") == 0o700
    secrets = sorted(
        p.relative_to(kits).as_posix()
        for p in kits.rglob("*")
        if p.is_file() and (p.suffix == ".key" or p.name == "client_context.tenseal")
    )
    assert secrets == [
        "admin@consortium.org/startup/client.key",
        "localhost/startup/server.key",
        "org1/startup/client.key",
        "org1/startup/client_context.tenseal",
        "org2/startup/client.key",
        "org2/startup/client_context.tenseal",
    ]
    assert {s: mode(kits / s) for s in secrets} == dict.fromkeys(secrets, 0o600)
    assert mode(kits / "org1" / "startup" / "rootCA.pem") == 0o666  # public files untouched


def test_re_provisioning_keeps_the_ca_state_private(tmp_path):
    spec = two_sites("again")
    provision(spec, tmp_path)
    state = tmp_path / "kits" / "again" / "state"
    os.chmod(state / "cert.json", 0o644)  # as an older fedsec left it
    os.chmod(state, 0o755)
    kits = provision(spec, tmp_path)
    assert kits.name == "prod_01"
    assert mode(state / "cert.json") == 0o600 and mode(state) == 0o700


@pytest.mark.parametrize("participant", ["localhost", "org1"])
def test_every_kit_starts_its_processes_with_fedsecs_numeric_pins(kits, participant, tmp_path):
    """NVFlare loads numpy before fedsec's code runs, so the kit's start script sets the pins
    (fedsec.core.numerics): on a CPU with AVX2 they are exported, one already set is kept, and
    the opt-out or a CPU without AVX2 leaves the environment alone."""
    import subprocess

    from fedsec.core import numerics

    script = kits / participant / "startup" / "sub_start.sh"
    assert script.stat().st_mode & 0o111  # still executable
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    block = numerics.shell_pins()
    assert block in script.read_text()
    probe = tmp_path / "probe.sh"
    probe.write_text(block + 'echo "$MKL_CBWR|$ATEN_CPU_CAPABILITY|$OPENBLAS_CORETYPE"\n')
    clean = {k: v for k, v in os.environ.items() if k not in {*numerics.PINS, numerics.OPT_OUT}}

    def run(**extra: str) -> str:
        done = subprocess.run(
            ["bash", str(probe)], env={**clean, **extra}, capture_output=True, text=True
        )
        return done.stdout.strip()

    if numerics.cpu_has_avx2():
        assert run() == "AVX2|avx2|Haswell"
        assert run(MKL_CBWR="COMPATIBLE") == "COMPATIBLE|avx2|Haswell"
    else:
        assert run() == "||"
    assert run(**{numerics.OPT_OUT: "1"}) == "||"

"""A site or coordinator whose private key other users can read refuses to start.

Checked where each starts: NVFlare's own start (the guard component in every kit), fedsec's
loopback launcher, the site's executor and the coordinator's controller.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from unittest.mock import MagicMock

import pytest

pytest.importorskip("nvflare")

from nvflare.apis.fl_constant import ReturnCode
from nvflare.apis.shareable import Shareable
from nvflare.apis.signal import Signal

from fedsec.core.keyfiles import ExposedSecretError
from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.controller import FedsecController
from fedsec.engines.nvflare.executor import FedsecExecutor
from fedsec.engines.nvflare.keyguard import GUARD_PATH, KitKeyGuard, kit_secrets


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    return poc.prepare(tmp_path_factory.mktemp("poc"), ["site-1"], homomorphic_encryption=True)


@pytest.fixture
def exposed(federation):
    """The site's private key made world-readable for one test."""
    key = federation.kit("site-1") / "startup" / "client.key"
    os.chmod(key, 0o644)
    yield key
    os.chmod(key, 0o600)


def _refusal(text: str, key: Path) -> bool:
    return f"{key}: a private key of this startup kit" in text and f"chmod 600 '{key}'" in text


def test_every_kit_starts_with_the_guard(federation):
    for name in [poc.SERVER, *federation.sites]:
        resources = json.loads((federation.kit(name) / "local" / "resources.json").read_text())
        assert resources["components"][0]["path"] == GUARD_PATH, name


def test_the_guard_checks_every_private_file_of_the_kit(federation, monkeypatch):
    site, server = federation.kit("site-1"), federation.kit(poc.SERVER)
    assert [p.name for p in kit_secrets(site)] == ["client.key", "client_context.tenseal"]
    assert [p.name for p in kit_secrets(server)] == ["server.key"]
    monkeypatch.chdir(site)
    KitKeyGuard()  # 0600: starts
    context = site / "startup" / "client_context.tenseal"
    os.chmod(context, 0o640)
    try:
        with pytest.raises(ExposedSecretError, match="mode 0640"):
            KitKeyGuard()
    finally:
        os.chmod(context, 0o600)


def test_fedsecs_launcher_refuses_before_starting_anything(federation, exposed):
    with pytest.raises(ExposedSecretError) as refused:
        poc.start(federation, timeout=30)
    assert _refusal(str(refused.value), exposed)
    assert federation.pids == {}


def test_the_sites_executor_refuses_every_task(federation, exposed, monkeypatch):
    fl_ctx = MagicMock()
    fl_ctx.get_engine().get_workspace().get_startup_kit_dir.return_value = str(exposed.parent)
    monkeypatch.setattr(FedsecExecutor, "log_error", lambda *args: None)  # NVFlare's logging
    reply = FedsecExecutor().execute("fedsec_statistics", Shareable(), fl_ctx, Signal())
    assert reply.get_return_code() == ReturnCode.BAD_TASK_DATA
    assert _refusal(reply["error"], exposed)


def test_the_coordinators_controller_refuses_the_job(federation):
    key = federation.kit(poc.SERVER) / "startup" / "server.key"
    fl_ctx = MagicMock()
    fl_ctx.get_engine().get_workspace().get_startup_kit_dir.return_value = str(key.parent)
    os.chmod(key, 0o604)
    try:
        controller = FedsecController(job={})
        controller.start_controller(fl_ctx)
    finally:
        os.chmod(key, 0o600)
    assert controller.spec is None
    assert controller.refusal.startswith("fedsec job refused by the coordinator: ")
    assert _refusal(controller.refusal, key)


@pytest.mark.deployment
@pytest.mark.parametrize("name", ["site-1", poc.SERVER])
def test_nvflare_refuses_to_start_a_participant_with_an_exposed_key(federation, name):
    kit = federation.kit(name)
    key = next(kit.glob("startup/*.key"))
    os.chmod(key, 0o644)
    try:  # no coordinator runs: a participant that started would wait for it until the timeout
        done = subprocess.run(
            poc.command(federation, name),
            cwd=kit,
            env=poc.environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.chmod(key, 0o600)
    assert _refusal(" ".join(done.stdout.split()), key), done.stdout[-2000:]

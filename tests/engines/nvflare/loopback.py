"""A hardened loopback federation for the deployment tests (import after
``pytest.importorskip("nvflare")``): coordinator and one site per organization of the
``consortium`` fixture, every process stopped by its PID on exit, even when a test fails.
The session shares one (the ``federation`` fixture of conftest.py); a test that stops a site
brings it back with ``relaunch``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.site_config import SiteTreesConfig, config_from_scenario
from fedsec.scenarios.config import Scenario

JOB_TIMEOUT = 240


@contextlib.contextmanager
def loopback(
    consortium: tuple[Path, Scenario], folder: Path, logs: tuple[Path, Scenario] | None = None
) -> Iterator[poc.Poc]:
    """Started federation; the coordinator keeps NVFlare's permissive default policy (as if it
    were compromised), so whatever refuses custom code is the sites' hardening. With ``logs``
    (a logs scenario of the same organizations), each site also holds its log sessions."""
    data, scenario = consortium
    names = scenario.org_names()
    # opted out of secure aggregation, into histograms in clear: the same sites run clear,
    # secure-aggregation, HE and boosted-tree jobs
    trees = SiteTreesConfig(reveal_histograms=True)
    configs = {
        n: config_from_scenario(scenario, n, data, False).model_copy(update={"trees": trees})
        for n in names
    }
    if logs is not None:
        sessions = {n: config_from_scenario(logs[1], n, logs[0], False).logs for n in names}
        configs = {n: c.model_copy(update={"logs": sessions[n]}) for n, c in configs.items()}
    fed = poc.prepare(folder, names, configs, homomorphic_encryption=True)
    local = fed.kit(poc.SERVER) / "local"
    shutil.copy(local / "authorization.json.default", local / "authorization.json")
    try:
        poc.start(fed, timeout=120)
        yield fed
    finally:
        poc.stop(fed)
        assert not [p for p in fed.pids.values() if poc.alive(p)]


def relaunch(fed: poc.Poc, site: str, timeout: float = 120.0) -> None:
    """Start ``site`` again from its kit (stopping its recorded process if it still runs) and
    return once it has registered with the coordinator again."""
    kit = fed.kit(site)
    pid = fed.pids.pop(site, None)
    if pid:
        poc.kill(pid, kit)
    offset = poc.log_size(kit)
    fed.pids[site] = poc.launch(fed, site)
    fed.save()
    poc.wait_registered(kit, offset, fed.pids[site], timeout)


def family_of(fed: poc.Poc, site: str) -> list[int]:
    """The PIDs of ``site``'s process and of the job processes it runs now."""
    pid = fed.pids[site]
    assert poc.ours(pid, fed.kit(site)), f"{site} is not running"
    return [pid, *poc.descendants(pid)]


def send(pids: list[int], number: signal.Signals) -> None:
    """Send signal ``number`` to each of ``pids`` (gone ones are skipped)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, number)


def crash(fed: poc.Poc, site: str, family: list[int]) -> None:
    """Kill ``site`` as a crash would: ``family`` (see family_of) gets SIGKILL at once, with
    no clean shutdown."""
    assert family[0] == fed.pids.pop(site)
    send(family, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(family[0], 0)


def spec_for(scenario: Scenario, **settings: object) -> JobSpec:
    names = scenario.org_names()
    defaults = {"site_order": names, "min_sites": 2, "round_timeout": 30.0}
    return JobSpec.from_scenario(scenario, [], DeploymentSettings(**(defaults | settings)))


def wait_for(log: Path, text: str, offset: int, timeout: float, poll: float = 0.01) -> int:
    """Poll ``log`` from byte ``offset`` every ``poll`` seconds until ``text`` is in it; the
    offset just past it (0: not within ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            with open(log, "rb") as handle:
                handle.seek(offset)
                found = handle.read().find(text.encode())
            if found >= 0:
                return offset + found + len(text)
        time.sleep(poll)
    return 0

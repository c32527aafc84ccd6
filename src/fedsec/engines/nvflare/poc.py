"""A loopback federation on one machine, provisioned and hardened like a real one.

The coordinator is named ``localhost`` so NVFlare binds 127.0.0.1 only. Every process fedsec
starts is recorded by PID in ``poc.json`` (in its own process group) and stopped by that PID;
nothing is matched by name. A site that does not register within a deadline is reported (a
foreign certificate otherwise makes an NVFlare client hang silently).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import fedsec
from fedsec.core import atomic
from fedsec.core.errors import FedsecError
from fedsec.core.org_names import nvflare_org
from fedsec.engines.nvflare.checkpoint_store import CHECKPOINT_DIR
from fedsec.engines.nvflare.keyguard import check_kit
from fedsec.engines.nvflare.site_config import SITE_CONFIG, SiteConfig, write_site_config

STATE = "poc.json"
SERVER = "localhost"
ADMIN = "admin@fedsec.local"
REGISTERED = "Successfully registered client"
#: The coordinator stops waiting for the outcome of a vanished site after this many seconds.
OUTCOME_WAIT_S = 10


class PocError(FedsecError, RuntimeError):
    """The loopback federation cannot be prepared, started or stopped."""


@dataclass
class Poc:
    directory: str
    project: str
    kits: str
    admin: str
    orgs: dict[str, str]  # participant -> org (the coordinator included)
    ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def sites(self) -> list[str]:
        return [n for n in self.orgs if n != SERVER]

    def kit(self, name: str) -> Path:
        return Path(self.kits) / name

    @property
    def admin_kit(self) -> Path:
        return self.kit(self.admin)

    def save(self) -> None:
        atomic.write_json(Path(self.directory) / STATE, asdict(self))


def load_poc(directory: Path) -> Poc:
    path = Path(directory) / STATE
    if not path.is_file():
        raise PocError(f"{path}: no loopback federation here (fedsec federation poc creates one)")
    return Poc(**json.loads(path.read_text()))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(
    directory: Path,
    sites: list[str],
    configs: dict[str, SiteConfig] | None = None,
    project: str = "fedsec_poc",
    homomorphic_encryption: bool = False,
) -> Poc:
    """Provision a hardened loopback federation (one org per site) under ``directory``."""
    from fedsec.engines.nvflare.provision import Admin, FederationSpec, Identity, provision

    directory = Path(directory).resolve()
    old = load_poc(directory) if (directory / STATE).exists() else None
    if old and any(ours(pid, old.kit(name)) for name, pid in old.pids.items()):
        raise PocError(
            f"{directory}: a federation is running here; stop it first (fedsec federation stop)"
        )
    ports = {"fed_learn": free_port(), "admin": free_port()}
    while ports["admin"] == ports["fed_learn"]:
        ports["admin"] = free_port()
    spec = FederationSpec(
        project=project,
        coordinator=SERVER,
        fed_learn_port=ports["fed_learn"],
        admin_port=ports["admin"],
        sites=[Identity(name=s, org=nvflare_org(s)) for s in sites],
        admins=[Admin(name=ADMIN, org="consortium")],
        job_storage=str(directory / "coordinator-store"),
        homomorphic_encryption=homomorphic_encryption,
    )
    kits = provision(spec, directory)
    poc = Poc(
        str(directory),
        project,
        str(kits),
        ADMIN,
        {SERVER: "consortium", **{s: nvflare_org(s) for s in sites}},
        ports,
    )
    for name, config in (configs or {}).items():
        write_site_config(config, poc.kit(name) / "local" / SITE_CONFIG)
    if old:
        carry_checkpoints(old.kit(SERVER), poc.kit(SERVER))
    poc.save()
    return poc


def carry_checkpoints(old_kit: Path, new_kit: Path) -> list[str]:
    """Copy the coordinator's job checkpoints from the federation's previous kit into its new
    one (provisioning again makes new kits, and the coordinator reads its checkpoints from its
    own), so a job stopped with the old federation can be resumed; the jobs carried over."""
    source = Path(old_kit) / CHECKPOINT_DIR
    if not source.is_dir() or Path(old_kit).resolve() == Path(new_kit).resolve():
        return []
    target = Path(new_kit) / CHECKPOINT_DIR
    jobs = [j for j in _job_folders(source) if not (target / j).exists()]
    for job in jobs:
        with atomic.directory(target / job) as staging:
            shutil.copytree(source / job, staging, symlinks=True, dirs_exist_ok=True)
    return jobs


def checkpointed_jobs(poc: Poc) -> list[str]:
    """The jobs whose checkpoints the coordinator's kit holds (resumable with --resume)."""
    return _job_folders(poc.kit(SERVER) / CHECKPOINT_DIR)


def _job_folders(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def environment() -> dict[str, str]:
    """The launching environment, with this fedsec importable and a short outcome wait."""
    env = dict(os.environ)
    source = str(Path(fedsec.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    env["NVFLARE_CLIENT_OUTCOME_WAIT_TIMEOUT"] = str(OUTCOME_WAIT_S)
    return env


def command(poc: Poc, name: str) -> list[str]:
    kit = str(poc.kit(name))
    if name == SERVER:
        module, startup, extra = "server.server_train", "fed_server.json", []
    else:
        module, startup, extra = "client.client_train", "fed_client.json", [f"uid={name}"]
    return [
        sys.executable,
        "-u",
        "-m",
        f"nvflare.private.fed.app.{module}",
        "-m",
        kit,
        "-s",
        startup,
        "--set",
        "secure_train=true",
        *extra,
        f"org={poc.orgs[name]}",
        "config_folder=config",
    ]


def launch(poc: Poc, name: str, kit: Path | None = None) -> int:
    """Start one participant (from ``kit`` if given) in its own process group; its PID. A kit
    whose private files other users can read is refused before anything starts."""
    kit = Path(kit or poc.kit(name))
    check_kit(kit)
    cmd = command(poc, name)
    cmd[cmd.index("-m", 3) + 1] = str(kit)
    with open(kit / "console.log", "ab") as log:
        process = subprocess.Popen(
            cmd,
            cwd=kit,
            env=environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return process.pid


def start(poc: Poc, timeout: float = 120.0) -> Poc:
    """Start the coordinator, then every site; return once all sites have registered."""
    started = time.monotonic()
    try:
        check_ports_free(poc)
        poc.pids[SERVER] = launch(poc, SERVER)
        poc.save()
        wait_port(poc.ports["admin"], poc.pids[SERVER], timeout)
        offsets = {s: log_size(poc.kit(s)) for s in poc.sites}
        for site in poc.sites:
            poc.pids[site] = launch(poc, site)
            poc.save()
        for site in poc.sites:
            left = timeout - (time.monotonic() - started)
            wait_registered(poc.kit(site), offsets[site], poc.pids[site], left)
    except BaseException:
        stop(poc)
        raise
    return poc


def log_size(kit: Path) -> int:
    path = kit / "log.txt"
    return path.stat().st_size if path.exists() else 0


def registered(kit: Path, offset: int = 0) -> bool:
    path = kit / "log.txt"
    if not path.exists():
        return False
    with open(path, "rb") as handle:
        handle.seek(offset)
        return REGISTERED.encode() in handle.read()


def wait_registered(kit: Path, offset: int, pid: int, timeout: float) -> None:
    deadline = time.monotonic() + max(timeout, 0)
    while time.monotonic() < deadline:
        if registered(kit, offset):
            return
        if not alive(pid):
            raise PocError(f"site {kit.name} exited before registering (see {kit}/log.txt)")
        time.sleep(0.5)
    raise PocError(
        f"site {kit.name} did not register with the coordinator within {timeout:.0f} s "
        "(is its certificate from this federation's CA? see its log.txt)"
    )


def check_ports_free(poc: Poc) -> None:
    """Refuse to start the coordinator on a port another process holds: the kits name the
    ports, and a squatter answering on one made the start look like an unreachable coordinator."""
    for role, port in poc.ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise PocError(
                    f"port {port} on 127.0.0.1 (the coordinator's {role} port, written in the "
                    f"kits) is in use by another process ({error.strerror}): free it, or stop "
                    "this federation and start a new one (fedsec federation poc)"
                ) from None


def wait_port(port: int, pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if not alive(pid):
            raise PocError("the coordinator exited while starting (see its log.txt)")
        time.sleep(0.3)
    raise PocError(f"the coordinator did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def ours(pid: int, kit: Path) -> bool:
    """Is ``pid`` still the process we started for ``kit`` (not a reused PID)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(kit).encode() in cmdline


def descendants(pid: int) -> list[int]:
    """PIDs of every process below ``pid`` (job processes the participant spawned)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def kill(pid: int, kit: Path, grace: float = 10.0) -> bool:
    """Stop one participant we started (and the job processes below it) by PID."""
    if not ours(pid, kit):
        return False
    family = [pid, *descendants(pid)]
    for member in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(m) for m in family):
        time.sleep(0.2)
    for member in family:
        if alive(member):
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return True


def stop(poc: Poc) -> list[str]:
    """Stop every recorded participant, sites first; the names that were running."""
    stopped = []
    for name in [*poc.sites, SERVER]:
        pid = poc.pids.pop(name, None)
        if pid and kill(pid, poc.kit(name)):
            stopped.append(name)
        poc.save()
    return stopped


def restart_coordinator(poc: Poc, timeout: float = 120.0) -> list[str]:
    """Start the coordinator again from its kit (stopping the recorded process if it still runs)
    and wait until every running site has reconnected; the sites that did."""
    from fedsec.engines.nvflare.admin import Link

    pid = poc.pids.pop(SERVER, None)
    if pid:
        kill(pid, poc.kit(SERVER))
    check_ports_free(poc)
    started = time.monotonic()
    poc.pids[SERVER] = launch(poc, SERVER)
    poc.save()
    wait_port(poc.ports["admin"], poc.pids[SERVER], timeout)
    expected = {s for s in poc.sites if s in poc.pids and ours(poc.pids[s], poc.kit(s))}
    with Link(poc.admin_kit, poc.admin, grace=timeout) as link:
        while True:
            clients = link.call("restarting", lambda admin: admin.get_connected_client_list())
            back = {c.name for c in clients}
            if expected <= back:
                return sorted(back)
            if time.monotonic() - started > timeout:
                raise PocError(
                    f"the coordinator restarted but sites {sorted(expected - back)} did not "
                    f"reconnect within {timeout:.0f} s (see their log.txt)"
                )
            time.sleep(1.0)

"""Provisioning: the NVFlare project, startup kits, and hardened site policies.

:func:`provision` writes ``project.yml`` and runs NVFlare's provisioner with one extra builder,
:class:`HardeningBuilder`, that gives every participant fedsec's policies:

* ``local/authorization.json``: custom code (BYOC) denied for every role; the coordinator's
  admins may neither operate nor run shell commands at a site (only the site's own org admin);
* ``local/resources.json``: a class allow-list holding only fedsec's executor at sites and
  fedsec's controller at the coordinator, enforced; no site log streaming to the coordinator;
* ``startup/fed_*.json``: ``require_signed_jobs`` (jobs signed by an admin of this project);
* a start-up guard (:mod:`fedsec.engines.nvflare.keyguard`) among the site's and coordinator's
  components: they refuse to start while a private file of their kit is readable by others;
  at the coordinator, :class:`~fedsec.engines.nvflare.recovery.StaleJobRecovery` (jobs a crash
  left RUNNING are marked abandoned when it starts again).

Every private file provisioning writes is left readable by its owner only: each kit's
``startup/*.key`` and CKKS secret context ``0600``, and the project's ``state/cert.json`` (the
root CA's private key, and every participant's) ``0600`` in a ``0700`` folder. The kits are
built inside a ``0700`` folder, so no other user can open a key while NVFlare writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from nvflare.apis.utils.format_check import name_check
from nvflare.lighter.provision import prepare_project
from nvflare.lighter.provisioner import Provisioner
from nvflare.lighter.spec import Builder, Project, ProvisionContext
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fedsec.core import atomic, keyfiles, numerics
from fedsec.core.errors import ConfigError
from fedsec.core.org_names import OrgName
from fedsec.engines.nvflare.keyguard import GUARD_PATH, kit_secrets

EXECUTOR_PATH = "fedsec.engines.nvflare.executor.FedsecExecutor"
CONTROLLER_PATH = "fedsec.engines.nvflare.controller.FedsecController"
#: Marks jobs a crashed coordinator left RUNNING as FINISHED:ABANDONED when it starts again.
RECOVERY_PATH = "fedsec.engines.nvflare.recovery.StaleJobRecovery"
PROJECT_FILE = "project.yml"
KITS = "kits"
#: NVFlare's provisioning state: the root CA's private key and every participant's.
CERT_STATE = "cert.json"


def _check(name: str, kind: str) -> None:
    """NVFlare's own naming rules, checked before provisioning starts."""
    bad, message = name_check(name, kind)
    if bad:
        raise ValueError(f"{kind} name {name!r} is not allowed ({message.split(' based on ')[-1]})")


class Identity(BaseModel):
    """A site: its name is an organization's (:mod:`fedsec.core.org_names`, stricter than
    NVFlare's site names); its NVFlare org follows NVFlare's own rule (no ``-``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: OrgName
    org: str

    @model_validator(mode="after")
    def _names(self) -> Identity:
        _check(self.org, "org")
        return self


class Admin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    org: str
    role: Literal["project_admin", "org_admin", "lead", "member"] = "project_admin"

    @model_validator(mode="after")
    def _names(self) -> Admin:
        _check(self.name, "admin")
        _check(self.org, "org")
        return self


class FederationSpec(BaseModel):
    """Who takes part: the coordinator host, one site per organization, admin identities."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    project: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    coordinator: str = Field(min_length=1, description="host name sites connect to")
    coordinator_org: str = "consortium"
    fed_learn_port: int = Field(default=8002, ge=1, le=65535)
    admin_port: int = Field(default=8003, ge=1, le=65535)
    sites: list[Identity] = Field(min_length=1)
    admins: list[Admin] = Field(min_length=1)
    job_storage: str | None = Field(default=None, description="coordinator's job store folder")
    homomorphic_encryption: bool = Field(
        default=False, description="CKKS contexts in the kits (NVFlare's HEBuilder)"
    )

    @model_validator(mode="after")
    def _distinct(self) -> FederationSpec:
        _check(self.coordinator, "server")
        _check(self.coordinator_org, "org")
        names = [self.coordinator] + [p.name for p in [*self.sites, *self.admins]]
        folded = [n.casefold() for n in names]
        if len(set(folded)) != len(folded):
            twice = sorted({n for n in names if folded.count(n.casefold()) > 1})
            raise ValueError(
                f"coordinator, site and admin names must all differ, ignoring case (they name "
                f"folders and certificates): {twice}"
            )
        _one_org_a_site(self.sites, self.coordinator_org)
        if self.fed_learn_port == self.admin_port:
            raise ValueError("fed_learn_port and admin_port must differ")
        return self


def _one_org_a_site(sites: list[Identity], coordinator_org: str) -> None:
    """Each site its own NVFlare org, none the coordinator's: a site's ``operate`` and
    ``shell_commands`` rights go to the admins of its org (``o:site``), so two sites of one
    org (``acme-lab`` and ``acme_lab`` both become ``acme_lab``) would let either's admins
    run commands at the other."""
    owners: dict[str, str] = {}
    for site in sites:
        org = site.org.casefold()
        if org == coordinator_org.casefold():
            raise ValueError(
                f"site {site.name}: its org {site.org!r} is the coordinator's; give it its own"
            )
        if org in owners:
            raise ValueError(
                f"sites {owners[org]} and {site.name} share the org {site.org!r}: each site "
                "needs its own (its org's admins may operate it)"
            )
        owners[org] = site.name


def project_config(spec: FederationSpec) -> dict:
    """The NVFlare project file for ``spec`` (``project.yml``)."""
    participants = [
        {
            "name": spec.coordinator,
            "type": "server",
            "org": spec.coordinator_org,
            "fed_learn_port": spec.fed_learn_port,
            "admin_port": spec.admin_port,
        },
        *({"name": s.name, "type": "client", "org": s.org} for s in spec.sites),
        *({"name": a.name, "type": "admin", "org": a.org, "role": a.role} for a in spec.admins),
    ]
    builders = [
        {"path": "nvflare.lighter.impl.workspace.WorkspaceBuilder"},
        {
            "path": "nvflare.lighter.impl.static_file.StaticFileBuilder",
            "args": {"config_folder": "config"},
        },
        {"path": "nvflare.lighter.impl.cert.CertBuilder"},
    ]
    builders += [
        {
            "path": "fedsec.engines.nvflare.provision.HardeningBuilder",
            "args": {"job_storage": spec.job_storage},
        },
    ]
    if spec.homomorphic_encryption:  # before signing, so the contexts are signed too
        builders.append({"path": "nvflare.lighter.impl.he.HEBuilder"})
    builders.append({"path": "nvflare.lighter.impl.signature.SignatureBuilder"})
    return {
        "api_version": 3,
        "name": spec.project,
        "description": "fedsec federation (hardened: no custom code, fedsec classes only)",
        "participants": participants,
        "builders": builders,
    }


def site_policy(coordinator: bool = False) -> dict:
    """Authorization at a site: no custom code for anyone; only the site's org operates it.
    At the coordinator, the admins who manage jobs may also read a job's coordinator log."""
    rights = {
        "submit_job": "any",
        "clone_job": "any",
        "manage_job": "any",
        "download_job": "any",
        "view": "any",
        "operate": "o:site",
        "shell_commands": "o:site",
        "byoc": "none",
        "server-predeployed-flwr": "none",
    }
    if coordinator:
        rights["get_job_log"] = "any"
    org_admin = rights | {"submit_job": "none", "clone_job": "none", "get_job_log": "none"}
    return {
        "format_version": "1.0",
        "permissions": {
            "project_admin": rights,
            "org_admin": org_admin,
            "lead": rights,
            "member": {"view": "any"},
        },
    }


class HardeningBuilder(Builder):
    """Writes fedsec's policies into every kit (runs after NVFlare's static files)."""

    def __init__(self, job_storage: str | None = None) -> None:
        self.job_storage = job_storage

    def build(self, project: Project, ctx: ProvisionContext) -> None:
        server = project.get_server()
        if server is not None:
            self._harden(ctx, server, [CONTROLLER_PATH], "fed_server.json", server=True)
        for client in project.get_clients():
            self._harden(ctx, client, [EXECUTOR_PATH], "fed_client.json", server=False)

    def _harden(self, ctx, participant, allow: list[str], startup: str, server: bool) -> None:
        local = Path(ctx.get_local_dir(participant))
        atomic.write_json(local / "authorization.json", site_policy(server))
        resources = json.loads((local / "resources.json.default").read_text())
        resources["class_allow_list"] = allow
        resources["class_list_enforcement_mode"] = "enforce"
        guard = {"id": "fedsec_key_guard", "path": GUARD_PATH, "args": {}}
        resources["components"] = [guard, *resources.get("components", [])]
        if server:
            self._storage(resources)
            resources["components"].append({"id": "fedsec_recovery", "path": RECOVERY_PATH})
        else:
            resources["allow_log_streaming"] = False
            resources["components"] = [
                c for c in resources.get("components", []) if "LogStreamer" not in c.get("path", "")
            ]
        atomic.write_json(local / "resources.json", resources)
        config = Path(ctx.get_kit_dir(participant)) / startup
        startup_config = json.loads(config.read_text())
        startup_config["require_signed_jobs"] = True
        atomic.write_json(config, startup_config)
        _pin_numerics(Path(ctx.get_kit_dir(participant)) / "sub_start.sh")

    def _storage(self, resources: dict) -> None:
        if not self.job_storage:
            return
        root = Path(self.job_storage)
        storage = resources["snapshot_persistor"]["args"]["storage"]["args"]
        storage["root_dir"] = str(root / "snapshots")
        for component in resources["components"]:
            if component["id"] == "job_manager":
                component["args"]["uri_root"] = str(root / "jobs")


def _pin_numerics(script: Path) -> None:
    """The kit's start script exports fedsec's numeric pins before NVFlare starts Python:
    NVFlare loads numpy before any fedsec code, too late for fedsec to pin it (README, "The
    same numbers on another machine")."""
    shebang, _, rest = script.read_text().partition("\n")
    atomic.write_text(script, f"{shebang}\n{numerics.shell_pins()}{rest}", mode=0o755)


def check_reprovision(out: Path, spec: FederationSpec) -> None:
    """Refuse to replace another project.yml at ``out`` (another project, or sites, ports, admins
    changed) without --force; the same project provisioned again only issues new kits."""
    existing = Path(out) / PROJECT_FILE
    if not existing.exists():
        return
    try:
        previous = yaml.safe_load(existing.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        previous = None
    if previous == json.loads(json.dumps(project_config(spec))):
        return
    name = previous.get("name") if isinstance(previous, dict) else None
    what = f"project {name}" if name else "a project fedsec cannot read"
    raise ConfigError(
        f"{existing} already describes {what}, not this one: provisioning would replace it and "
        "issue new kits (in a new prod_NN folder; the old kits stay). Pass --force to do so, or "
        "choose another --out"
    )


def provision(spec: FederationSpec, workspace: Path) -> Path:
    """Write ``project.yml`` and the startup kits under ``workspace``; the kits' folder."""
    workspace = Path(workspace).resolve()
    config = project_config(spec)
    atomic.write_text(workspace / PROJECT_FILE, yaml.safe_dump(config, sort_keys=False))
    keyfiles.secret_folder(workspace / KITS)  # before NVFlare writes a key into it
    try:
        project = prepare_project(json.loads(json.dumps(config)))
        builders = [_builder(b) for b in config["builders"]]
        ctx = Provisioner(str(workspace / KITS), builders).provision(project)
    except ValueError as error:
        raise ConfigError(f"NVFlare refused the project in {workspace}: {error}") from error
    location = ctx.get_result_location() if ctx else None
    if not location:
        raise ConfigError(f"NVFlare provisioning failed under {workspace}")
    protect_secrets(workspace / KITS / spec.project, Path(location))
    return Path(location)


def secret_files(project_dir: Path, kits: Path) -> list[Path]:
    """Every private file of a provisioned project: the CA state and each kit's secrets."""
    state = Path(project_dir) / "state" / CERT_STATE
    kit_files = [
        f for kit in sorted(Path(kits).iterdir()) if kit.is_dir() for f in kit_secrets(kit)
    ]
    return [state, *kit_files] if state.exists() else kit_files


def protect_secrets(project_dir: Path, kits: Path) -> list[Path]:
    """Leave every private file ``0600`` and the CA state's folder ``0700``; the files."""
    keyfiles.secret_folder(Path(project_dir) / "state")
    files = secret_files(project_dir, kits)
    for path in files:
        keyfiles.restrict(path)
    return files


def _builder(config: dict) -> Builder:
    from nvflare.lighter.prov_utils import instantiate_from_config

    return instantiate_from_config(config)

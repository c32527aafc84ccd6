"""``fedsec federation ...`` and ``fedsec job ...``: deployment on NVIDIA FLARE.

Registered on the main app by :mod:`fedsec.cli.main`. NVFlare is imported only when one
of these commands runs (``pip install 'fedsec[deploy]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import Interrupted, clean_errors, console
from fedsec.cli.options import (
    DEFAULT_POC,
    DataDir,
    Force,
    Overrides,
    Seed,
    federation_app,
    job_app,
    seed_overrides,
)
from fedsec.cli.summary import show_summary
from fedsec.core import outputs
from fedsec.core.errors import ConfigError
from fedsec.core.org_names import nvflare_org

PocDir = Annotated[Path, typer.Option("--dir", help="Folder of the loopback federation.")]
HeKeys = Annotated[
    bool,
    typer.Option(
        "--he", help="Add CKKS keys (NVFlare's HEBuilder) for privacy.homomorphic_encryption."
    ),
]
RequireSecure = Annotated[
    bool,
    typer.Option(
        "--secure-aggregation/--no-secure-aggregation",
        help="Sites send statistics and updates only under secure aggregation (default); "
        "--no-secure-aggregation lets them send both in clear.",
    ),
]


def _nvflare() -> None:
    try:
        import nvflare  # noqa: F401
    except ImportError as error:
        raise ConfigError(
            "deployment needs NVIDIA FLARE: pip install 'fedsec[deploy]' (nvflare==2.9.0)"
        ) from error


def _split(value: str, parts: int) -> list[str]:
    fields = value.split(":")
    return fields + [""] * (parts - len(fields))


@federation_app.command("provision")
@clean_errors
def provision_command(
    project: Annotated[str, typer.Option(help="Project name (letters, digits, _ and -).")],
    coordinator: Annotated[str, typer.Option(help="Host name sites connect to.")],
    site: Annotated[list[str], typer.Option(help="A site: NAME or NAME:ORG (repeatable).")],
    admin: Annotated[list[str], typer.Option(help="An admin: EMAIL[:ORG[:ROLE]] (repeatable).")],
    out: Annotated[Path, typer.Option(help="Folder for project.yml and the kits.")],
    port: Annotated[int, typer.Option(help="Port sites connect to.")] = 8002,
    admin_port: Annotated[int, typer.Option(help="Port admins connect to.")] = 8003,
    job_storage: Annotated[str | None, typer.Option(help="Coordinator's job store folder.")] = None,
    he: HeKeys = False,
    force: Annotated[
        bool,
        typer.Option(help="Provision again over another project.yml at --out (new kits)."),
    ] = False,
) -> None:
    """Write the NVFlare project and hardened startup kits (one per organization and admin)."""
    _nvflare()
    from pydantic import ValidationError

    from fedsec.engines.nvflare.provision import (
        Admin,
        FederationSpec,
        Identity,
        check_reprovision,
        provision,
    )

    try:
        spec = FederationSpec(
            project=project,
            coordinator=coordinator,
            fed_learn_port=port,
            admin_port=admin_port,
            sites=[
                Identity(name=n, org=o or nvflare_org(n))
                for n, o in (_split(s, 2)[:2] for s in site)
            ],
            admins=[
                Admin(name=n, org=o or "consortium", role=r or "project_admin")
                for n, o, r in (_split(a, 3)[:3] for a in admin)
            ],
            job_storage=job_storage,
            homomorphic_encryption=he,
        )
    except ValidationError as error:
        raise ConfigError(f"invalid federation: {error}") from error
    if not force:
        check_reprovision(out, spec)
    kits = provision(spec, out)
    grid = Table("startup kit", "give it to", title=f"{project}: kits in {kits}")
    grid.add_row(str(kits / coordinator), f"the coordinator ({spec.coordinator_org})")
    for s in spec.sites:
        grid.add_row(str(kits / s.name), f"{s.org}: add local/fedsec_site.toml, then start.sh")
    for a in spec.admins:
        grid.add_row(str(kits / a.name), f"{a.name} ({a.role})")
    console.print(grid)
    if he:
        console.print(
            "--he: every site kit holds the consortium's CKKS secret key (client_context.tenseal); "
            "the coordinator's holds a context without it and cannot decrypt."
        )
    console.print(
        f"{Path(out) / 'kits' / project / 'state'} holds the root CA's private key: keep it with "
        "the coordinator's operators, never in a kit."
    )
    console.print(
        "Every private key is mode 600 and the kits folder 700: keep those modes when you copy "
        "a kit (sites and the coordinator refuse to start with a key others can read)."
    )


@federation_app.command("poc")
@clean_errors
def poc_command(
    sites: Annotated[int | None, typer.Option(help="Number of sites (site-1 ...).")] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Name sites after this scenario's organizations.")
    ] = None,
    data_dir: DataDir = None,
    directory: PocDir = DEFAULT_POC,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every site.")] = 120.0,
    he: HeKeys = False,
    secure_aggregation: RequireSecure = True,
) -> None:
    """Start a hardened loopback federation (127.0.0.1 only) and record its PIDs."""
    from fedsec.engines.nvflare import poc
    from fedsec.engines.nvflare.site_config import config_from_scenario
    from fedsec.scenarios.config import LogsScenario
    from fedsec.scenarios.federation import resolve_data_dir
    from fedsec.scenarios.loading import load_scenario

    configs = {}
    if scenario is not None:
        config = load_scenario(scenario)
        names = config.org_names()
        if sites is not None and sites != len(names):
            raise ConfigError(f"--sites {sites}: scenario {config.name} has {len(names)} orgs")
        paths = config.logs.paths() if isinstance(config, LogsScenario) else config.data.paths()
        root = resolve_data_dir(data_dir, paths)
        configs = {n: config_from_scenario(config, n, root, secure_aggregation) for n in names}
    elif sites is not None and sites >= 1:
        names = [f"site-{i + 1}" for i in range(sites)]
    else:
        raise ConfigError("pass --sites N or --scenario NAME")
    _nvflare()
    prepared = poc.prepare(directory, names, configs, homomorphic_encryption=he)
    federation = poc.start(prepared, timeout=timeout)
    grid = Table("participant", "pid", "kit", title=f"loopback federation in {directory}")
    for name, pid in federation.pids.items():
        grid.add_row(name, str(pid), str(federation.kit(name)))
    console.print(grid)
    if not configs:
        console.print(
            "each site needs local/fedsec_site.toml in its kit before a job can read data "
            "(fedsec federation site-config writes one from a scenario)"
        )
    if configs and secure_aggregation:
        console.print(
            "sites require secure aggregation: submit jobs with privacy.secure_aggregation = true "
            "(or start the federation with --no-secure-aggregation)"
        )
    elsewhere = Path(directory) != DEFAULT_POC
    submit = f" --federation {directory}" if elsewhere else ""
    if carried := poc.checkpointed_jobs(federation):
        console.print(
            escape(
                f"checkpoints of {len(carried)} earlier job(s) carried into the new coordinator "
                f"kit ({', '.join(carried)}): resume one with fedsec job submit SCENARIO{submit} "
                "--resume JOB"
            ),
            highlight=False,
        )
    stop = f" --dir {directory}" if elsewhere else ""
    advice = f"next: fedsec job submit SCENARIO{submit}; stop with: fedsec federation stop{stop}"
    console.print(escape(advice), highlight=False)


@federation_app.command("stop")
@clean_errors
def stop_command(directory: PocDir = DEFAULT_POC) -> None:
    """Stop the loopback federation's processes (by their recorded PIDs)."""
    from fedsec.engines.nvflare import poc

    stopped = poc.stop(poc.load_poc(directory))
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@federation_app.command("restart-coordinator")
@clean_errors
def restart_coordinator_command(
    directory: PocDir = DEFAULT_POC,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sites.")] = 120.0,
) -> None:
    """Start the loopback federation's coordinator again (after a crash) and wait for the sites."""
    _nvflare()
    from fedsec.engines.nvflare import poc

    federation = poc.load_poc(directory)
    sites = poc.restart_coordinator(federation, timeout=timeout)
    console.print(
        f"coordinator running (pid {federation.pids[poc.SERVER]}); sites connected: "
        f"{', '.join(sites) or 'none'}. A job it ran when it stopped is now FINISHED:ABANDONED "
        "(fedsec job status lists the jobs): resume it with fedsec job submit SCENARIO "
        "--resume JOB",
        highlight=False,
    )


@federation_app.command("site-config")
@clean_errors
def site_config_command(
    scenario: Annotated[str, typer.Argument(help="Per-source scenario (name or TOML file).")],
    org: Annotated[str, typer.Option(help="The organization whose files the site reads.")],
    out: Annotated[Path, typer.Option(help="Where to write (the kit's local/fedsec_site.toml).")],
    data_dir: DataDir = None,
    secure_aggregation: RequireSecure = True,
    force: Force = False,
) -> None:
    """Write a site config reading one organization's files of a scenario (never over an
    existing file, a site's hand-edited privacy floor perhaps, without --force)."""
    from fedsec.engines.nvflare.site_config import config_from_scenario, write_site_config
    from fedsec.engines.nvflare.site_notes import weak_settings
    from fedsec.scenarios.federation import resolve_data_dir
    from fedsec.scenarios.loading import load_scenario

    outputs.check_file(out, force=force)
    config = config_from_scenario(
        load_scenario(scenario), org, resolve_data_dir(data_dir), secure_aggregation
    )
    console.print(escape(f"site config for {org}: {write_site_config(config, out)}"))
    if not secure_aggregation:
        console.print("this site will send its statistics and updates in clear when a job asks")
    for note in weak_settings(config):
        console.print(escape(f"note: {note}"), highlight=False)


@job_app.command("submit")
@clean_errors
def submit_command(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or TOML file.")],
    federation: Annotated[
        Path, typer.Option(help="Loopback federation folder (for its admin kit).")
    ] = DEFAULT_POC,
    admin_kit: Annotated[
        Path | None, typer.Option(help="Admin startup kit (instead of --federation).")
    ] = None,
    username: Annotated[str | None, typer.Option(help="Admin name of that kit.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Run folder. Default: runs/SCENARIO-seedN, a -PROTECTION suffix, then -nvflare."
        ),
    ] = None,
    data_dir: DataDir = None,
    min_sites: Annotated[
        int | None,
        typer.Option(
            help="Sites needed to go on, and whose signed evaluations release the model "
            "(default: a round's minimum to go on; every site's evaluation to release)."
        ),
    ] = None,
    round_timeout: Annotated[float, typer.Option(help="Seconds to wait per task.")] = 120.0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the job.")] = 3600.0,
    seed: Seed = None,
    set_: Overrides = None,
    resume: Annotated[
        str | None,
        typer.Option(
            help="Go on from this interrupted job's newest checkpoint (same scenario and options)."
        ),
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option(
            help="Anomaly scenarios: the deep model the job trains (ae or svdd; default: the "
            "scenario's first). The run's other arms train that model too."
        ),
    ] = None,
    force: Force = False,
) -> None:
    """Run SCENARIO's federated training as a signed job; write the usual run directory."""
    _nvflare()
    from fedsec.scenarios.loading import load_scenario

    overrides = seed_overrides(set_, seed)
    config = load_scenario(scenario, overrides)  # refused before the engine's libraries load
    from fedsec.cli.jobs import RoundReporter, admin_of, interrupted_message
    from fedsec.engines.nvflare.job import JobInterrupted
    from fedsec.engines.nvflare.results import DeploymentError
    from fedsec.experiments.deployed_submit import LeftRunning, job_spec, submit

    config, spec = job_spec(config, detector, min_sites, round_timeout, resume)
    admin_kit, username = admin_of(federation, admin_kit, username)
    try:
        done = submit(
            config,
            spec,
            admin_kit,
            username,
            out=out,
            data_dir=data_dir,
            timeout=timeout,
            resume=resume,
            force=force,
            progress=RoundReporter,
            release_sites=min_sites,
        )
    except JobInterrupted as error:
        raise DeploymentError(interrupted_message(error)) from None
    except LeftRunning as left:
        where = f"--admin-kit {admin_kit} --username {username}"
        raise Interrupted(left_running(left.job_id, where)) from None
    if done.experiment is not None:
        show_summary(done.experiment.metrics, done.experiment.timing)
    result, target = done.result, done.target
    if result.dropouts:
        console.print(f"dropouts: {result.dropouts}", highlight=False)
    for step in result.resumed:
        console.print(f"resumed job {step['job']} after its round {step['round']}")
    latest = outputs.point_latest(target) if outputs.in_runs(target) else None
    pointer = f" ({latest} points here)" if latest is not None else ""
    console.print(
        f"job {done.job_id} finished; run directory: [bold]{escape(str(target))}[/]"
        f"{escape(pointer)}"
    )
    console.print(
        f"its model is signed by {username}'s kit; use it with: fedsec detect --model "
        f"{target / 'model'} --trust {Path(admin_kit) / 'startup' / 'rootCA.pem'} ...",
        highlight=False,
    )


def left_running(job_id: str, where: str) -> str:
    """What Ctrl-C on ``job submit`` left: the job goes on at the coordinator (the command only
    follows it), and nothing was written here."""
    return (
        f"job {job_id} goes on at the coordinator (this command only follows it) and nothing "
        f"was written here: follow it with `fedsec job status {job_id} {where}`, or stop it "
        f"with `fedsec job abort {job_id} {where}` (its checkpoints stay: `fedsec job submit "
        f"... --resume {job_id}` goes on from the newest)"
    )

"""The ``fedsec`` command: one sub-command per user job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fedsec import __version__
from fedsec.cli.common import (
    Interrupted,
    RoundProgress,
    clean_errors,
    console,
    errors,
    quiet_libraries,
    run_arms,
)
from fedsec.cli.options import (
    DETECT_FORMATS,
    HELP,
    DataDir,
    Force,
    Overrides,
    RunOut,
    federation_app,
    job_app,
    keys_app,
)
from fedsec.cli.summary import show_arms, show_summary, title_of
from fedsec.core import outputs

app = typer.Typer(
    help="fedsec: federated threat detection for organizations that cannot share their data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=HELP,
)


def show_version(value: bool) -> None:
    if value:
        console.print(f"fedsec {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """fedsec: federated threat detection for organizations that cannot share their data."""
    quiet_libraries()


def finish_run(target: Path, metrics: dict, what: str = "run directory") -> None:
    """Say where the run is; point runs/latest at a complete run; an interrupted run ends
    with exit 130 after saying what it kept."""
    incomplete = metrics.get("incomplete")
    if incomplete:
        raise Interrupted(
            f"kept the finished arms ({', '.join(incomplete['finished_arms'])}) in {target}, "
            f"marked incomplete; not finished: {', '.join(incomplete['missing_arms'])}"
        )
    latest = outputs.point_latest(target) if outputs.in_runs(target) else None
    pointer = f" ({latest} points here)" if latest is not None else ""
    console.print(f"{what}: [bold]{escape(str(target))}[/]{pointer}")


@app.command()
@clean_errors
def scenarios() -> None:
    """List the built-in scenarios."""
    from fedsec.scenarios.config import builtin_names, load_scenario

    grid = Table()
    grid.add_column("name", no_wrap=True)
    for header in ("task", "orgs", "partition", "view", "description"):
        grid.add_column(header)
    for name in builtin_names():
        s = load_scenario(name)
        summary = " ".join(s.description.split()).split("; ")[0].split(". ")[0]
        view = s.data.view if s.data is not None else "sessions"
        grid.add_row(name, s.task, str(s.org_count()), s.partition.rule, view, summary)
    console.print(grid)


@app.command()
@clean_errors
def simulate(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or TOML file.")],
    out: RunOut = None,
    seed: Annotated[int | None, typer.Option(help="Seed (overrides the scenario's).")] = None,
    data_dir: DataDir = None,
    set_: Overrides = None,
    force: Force = False,
) -> None:
    """Simulate a federation on real data: centralized vs local-only vs federated, per org."""
    from fedsec.scenarios.config import load_scenario

    overrides = list(set_ or []) + ([f"seed={seed}"] if seed is not None else [])
    config = load_scenario(scenario, overrides)
    name = outputs.run_name(config.name, config.seed, outputs.protection_suffix(config.privacy))
    task = {"logs": simulate_logs, "anomaly": simulate_anomaly}.get(config.task, simulate_flows)
    with outputs.run_folder(out, name, force=force) as target:
        metrics = task(config, data_dir, target, force)
    finish_run(target, metrics)


def simulate_flows(config: Any, data_dir: Path | None, target: Path, force: bool) -> dict:
    """Supervised detection on flows: the three arms, per organization."""
    from fedsec.evaluation.experiment import run_experiment
    from fedsec.evaluation.rundir import write_run

    experiment = run_arms(
        config.evaluation.arms, config.rounds, lambda tick: run_experiment(config, data_dir, tick)
    )
    write_run(experiment, target, force=force)
    show_summary(experiment.metrics, experiment.timing)
    return experiment.metrics


def simulate_logs(config: Any, data_dir: Path | None, target: Path, force: bool) -> dict:
    """The logs task: DeepLog and the count baseline in the three arms (see docs/logs.md)."""
    from fedsec.evaluation.logs import run_logs_experiment
    from fedsec.evaluation.logs_report import ARM_LABELS, verdict, write_logs_run

    experiment = run_arms(
        config.evaluation.arms,
        config.rounds,
        lambda tick: run_logs_experiment(config, data_dir, tick),
    )
    write_logs_run(experiment, target, force=force)
    metrics = experiment.metrics
    columns = {"F1": "f1", "precision": "precision", "recall": "recall", "FPR": "fpr"}
    title = title_of(metrics, experiment.timing)
    show_arms(title, metrics, columns, ARM_LABELS, verdict(metrics))
    return metrics


def simulate_anomaly(config: Any, data_dir: Path | None, target: Path, force: bool) -> dict:
    """Unsupervised scenarios: one-class models trained on benign traffic, every arm."""
    from fedsec.evaluation.anomaly import run_anomaly_experiment
    from fedsec.evaluation.anomaly_arms import arm_names
    from fedsec.evaluation.anomaly_report import verdict
    from fedsec.evaluation.rundir import write_anomaly_run

    experiment = run_arms(
        arm_names(config),
        config.rounds,
        lambda tick: run_anomaly_experiment(config, data_dir, tick),
    )
    write_anomaly_run(experiment, target, force=force)
    metrics = experiment.metrics
    columns = {
        "ROC-AUC": "roc_auc",
        "mean org ROC-AUC": "mean_org_roc_auc",
        "PR-AUC": "pr_auc",
        "detection": "detection_rate",
        "own benign FPR": "own_benign_fpr",
    }
    show_arms(title_of(metrics, experiment.timing), metrics, columns, {}, verdict(metrics))
    return metrics


@app.command()
@clean_errors
def detect(
    model: Annotated[Path, typer.Option(help="Model bundle directory.")],
    format_: Annotated[
        str, typer.Option("--format", help=f"Input format; one of {DETECT_FORMATS}.")
    ],
    input_: Annotated[
        list[Path] | None,
        typer.Option(
            "--input", help="Telemetry file(s) to score: --input a.csv b.csv, or repeat --input."
        ),
    ] = None,
    more_inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILES",
            help="More telemetry files (those after one --input land here).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Alerts file (JSON Lines).")] = Path("alerts.jsonl"),
    org: Annotated[str | None, typer.Option(help="Use this organization's threshold.")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Malicious-score threshold (overrides the bundle's).")
    ] = None,
    templates: Annotated[
        Path | None, typer.Option(help="Logs: event id -> template text file (sequence inputs).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Logs: prefix of event ids without template text.")
    ] = None,
    session_key: Annotated[
        str | None, typer.Option(help="Logs: regex of the session id in each line.")
    ] = None,
    session_window: Annotated[
        float, typer.Option(help="Logs: group lines into time windows of this many seconds.")
    ] = 0.0,
    log_format: Annotated[
        str | None, typer.Option(help="Logs: raw-log header layout or loghub system name.")
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            help="Trust bundles signed by this Ed25519 public key (.pub) or by an admin of the "
            "federation whose root CA this is (startup/rootCA.pem); repeatable.",
        ),
    ] = None,
    allow_unsigned: Annotated[
        bool,
        typer.Option(
            "--allow-unsigned",
            help="Use a bundle that is unsigned or signed by a key you do not trust "
            "(its authenticity is NOT checked).",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file.")] = (
        False
    ),
) -> None:
    """Score telemetry (flows, or log sessions with a logs bundle) and write one alert per
    flagged flow or anomalous session. The bundle must be signed by a key you trust."""
    from fedsec.bundles.keys import user_trust
    from fedsec.data.logs import SessionOptions
    from fedsec.detect.alerts import run_detection

    inputs = [*(input_ or []), *(more_inputs or [])]
    if not inputs:
        raise typer.BadParameter("give at least one file to score", param_hint="--input")
    outputs.check_file(out, force=force)
    options = SessionOptions(session_key, session_window, log_format, templates)
    summary = run_detection(
        outputs.resolve(model),
        inputs,
        format_,
        out,
        org=org,
        threshold=threshold,
        namespace=namespace,
        options=options,
        trust=user_trust(trust or [], allow_unsigned),
    )
    authenticity = summary.authenticity
    if authenticity is not None and not authenticity.trusted:
        errors.print(
            f"[bold red]WARNING (--allow-unsigned):[/] {authenticity.describe()}. Nothing "
            "shows who wrote this model or that its weights, classes and thresholds are "
            "unchanged; do not act on these alerts without checking its origin.",
            highlight=False,
        )
    elif authenticity is not None:
        console.print(f"model {authenticity.describe()}", highlight=False)
    grid = Table(
        "flagged as",
        "alerts",
        "true labels in input",
        title=f"{summary.rows} rows scored, {summary.alerts} alerts → {out}",
    )
    for family, count in summary.by_family.items():
        grid.add_row(family, str(count), summary.truth_note.get(family, ""))
    console.print(grid)


@app.command("privacy-curve")
@clean_errors
def privacy_curve_command(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or TOML file.")],
    epsilons: Annotated[str, typer.Option(help="Record-level epsilons; inf = no DP.")] = (
        "0.5,1,2,4,8,inf"
    ),
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder. Default: runs/SCENARIO-privacy-seedN (-2, -3 ... when taken)."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (overrides the scenario's).")] = None,
    data_dir: DataDir = None,
    set_: Overrides = None,
    force: Force = False,
) -> None:
    """Sweep record-level DP epsilon; plot macro-F1 and rare-family recall against it."""
    from fedsec.core.errors import ConfigError
    from fedsec.evaluation.privacy_curve import parse_epsilons, privacy_curve, write_curve
    from fedsec.scenarios.config import load_scenario

    try:
        values = parse_epsilons(epsilons)
    except ValueError as error:
        raise ConfigError(f"--epsilons: {error}") from error
    overrides = list(set_ or []) + ([f"seed={seed}"] if seed is not None else [])
    config = load_scenario(scenario, overrides)
    name = outputs.run_name(f"{config.name}-privacy", config.seed)
    with outputs.run_folder(out, name, force=force) as target:
        with RoundProgress() as progress:
            progress.add("federated", config.rounds * len(values))
            curve = privacy_curve(config, values, data_dir, progress.advance)
        write_curve(curve, config.to_toml(), target, force=force)
    grid = Table(
        "target ε",
        "macro-F1",
        "rare-family recall",
        "unseen recall",
        "benign FPR",
        "MIA advantage",
        title=f"{config.name}: privacy–utility",
    )
    for p in curve["points"]:
        grid.add_row(
            str(p["epsilon"]),
            *(
                f"{p[k]:.3f}" if p[k] is not None else "–"
                for k in (
                    "macro_f1",
                    "rare_family_recall",
                    "unseen_family_recall",
                    "benign_fpr",
                    "membership_advantage",
                )
            ),
        )
    console.print(grid)
    finish_run(target, {}, "curve directory")


def main() -> None:  # pragma: no cover - console entry point
    app()


Seed = Annotated[int | None, typer.Option(help="Seed (overrides the simulation's).")]
SimulationOverrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a simulation field: --set flows=20000 (repeatable)."),
]


@app.command()
@clean_errors
def generate(
    scenario: Annotated[str, typer.Argument(help="Built-in simulation name or TOML file.")],
    out: Annotated[Path, typer.Option(help="Output folder (one folder per organization).")],
    seed: Seed = None,
    flows: Annotated[
        int | None, typer.Option(help="Total flows (overrides the simulation's).")
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", help="Output format: flows, nf-v2 or zeek.")
    ] = "flows",
    set_: SimulationOverrides = None,
    force: Force = False,
) -> None:
    """Simulate a consortium's telemetry: each organization's data set in its own folder."""
    import time

    from fedsec.simulator import load_simulation, simulate
    from fedsec.simulator.output import write_dataset

    overrides = list(set_ or []) + ([f"seed={seed}"] if seed is not None else [])
    overrides += [f"flows={flows}"] if flows is not None else []
    config = load_simulation(scenario, overrides)
    outputs.check_target(out, force=force)
    started = time.perf_counter()
    manifest = write_dataset(simulate(config), out, format_, force=force)
    show_generated(manifest, time.perf_counter() - started)
    console.print(
        f"data in [bold]{escape(str(out))}[/]; try: fedsec simulate {escape(str(out))}/"
        f"scenario.toml --data-dir {escape(str(out))}"
    )


def show_generated(manifest: dict, seconds: float) -> None:
    grid = Table(
        "org",
        "archetype",
        "flows",
        "attack flows (train / test)",
        "campaigns (train → test)",
        title=f"{manifest['simulation']} (seed {manifest['seed']}, {manifest['format']}): "
        f"{manifest['flows']:,} flows in {seconds:.1f} s",
    )
    for org, info in manifest["orgs"].items():
        attacks = {
            w: sum(n for f, n in info["families"][w].items() if f != manifest["benign_family"])
            for w in ("train", "test")
        }
        windows = {
            w: [c for c, counts in info["campaigns"].items() if counts.get(w)]
            for w in ("train", "test")
        }
        grid.add_row(
            org,
            info["archetype"],
            f"{info['flows']:,}",
            f"{attacks['train']:,} / {attacks['test']:,}",
            f"{', '.join(windows['train']) or '–'} → {', '.join(windows['test']) or '–'}",
        )
    console.print(grid)


@app.command()
@clean_errors
def demo(
    out: Annotated[
        Path | None,
        typer.Option(help="Run folder. Default: runs/demo-seedN[-FORMAT] (-2, -3 ... when taken)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation and the training.")] = 0,
    format_: Annotated[
        str, typer.Option("--format", help="Telemetry format to simulate: flows, nf-v2, zeek.")
    ] = "flows",
    set_: SimulationOverrides = None,
    force: Force = False,
) -> None:
    """Simulate a consortium, federate, evaluate, and show who detected what (no data needed)."""
    from fedsec.evaluation.demo import DATA_DIR, run_demo

    overrides = [*(set_ or []), f"seed={seed}"]
    name = outputs.run_name("demo", seed, "" if format_ == "flows" else format_)
    with outputs.run_folder(out, name, force=force) as target, RoundProgress() as progress:

        def generated(manifest: dict, scenario: Any) -> None:
            errors.print(
                f"simulated {manifest['flows']:,} flows for {len(manifest['orgs'])} organizations",
                highlight=False,
            )
            for arm in scenario.evaluation.arms:
                progress.add(arm, scenario.rounds)

        run = run_demo(
            target,
            overrides=overrides,
            fmt=format_,
            tick=progress.advance,
            on_generated=generated,
            force=force,
        )
    show_summary(run.experiment.metrics, run.experiment.timing)
    show_campaigns(run.campaigns)
    console.print(
        f"generated in {run.timing['generate_s']:.1f} s, experiment "
        f"{run.timing['experiment_s']:.1f} s, total {run.timing['total_s']:.1f} s",
        highlight=False,
    )
    finish_run(target, run.experiment.metrics)
    console.print(
        f"next: fedsec detect --model {target}/model --format {format_} --input "
        f"{target}/{DATA_DIR}/<org>/<file>",
        highlight=False,
        markup=False,
    )


def show_campaigns(campaigns: dict) -> None:
    """Per organization: recall on campaigns it never saw locally, federated vs local only."""
    from fedsec.evaluation.report import fmt

    if not campaigns:
        return
    grid = Table(
        "org",
        "campaigns never seen locally",
        "rows",
        "federated",
        "local only",
        "new-family rows",
        "federated",
        "local only",
        title="Recall on campaigns an organization never saw (at its own threshold); "
        "new-family rows: only techniques it never trained on",
    )
    for org, info in campaigns["per_org"].items():
        recall, new = info["recall"], info["new_family_recall"]
        grid.add_row(
            org,
            ", ".join(info["unseen_campaigns"]) or "–",
            f"{info['unseen_rows']:,}",
            fmt(recall.get("federated")),
            fmt(recall.get("local")),
            f"{info['new_family_rows']:,}",
            fmt(new.get("federated")),
            fmt(new.get("local")),
        )
    console.print(grid)


# Deployment on NVIDIA FLARE: ``fedsec federation ...`` and ``fedsec job ...``.


# Deployment on NVIDIA FLARE (``fedsec federation ...``, ``fedsec job ...``) and signing keys:
# importing the modules registers their commands on the groups.
from fedsec.cli import deploy, jobs, keys  # noqa: E402, F401

app.add_typer(federation_app, name="federation")
app.add_typer(job_app, name="job")
app.add_typer(keys_app, name="keys")

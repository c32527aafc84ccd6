"""The ``fedsec`` command: one sub-command per user job."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fedsec.errors import FedsecError

app = typer.Typer(
    help="fedsec: federated threat detection for organizations that cannot share their data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder holding the datasets (default: $FEDSEC_DATA)."),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario field: --set rounds=5 (repeatable)."),
]


def clean_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn fedsec's errors into one clear line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FedsecError as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False, markup=True)
            raise typer.Exit(2) from None

    return wrapper


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
        disable=not sys.stderr.isatty(),
    )


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
        grid.add_row(name, s.task, str(s.org_count()), s.partition.rule, s.data.view, summary)
    console.print(grid)


@app.command()
@clean_errors
def simulate(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or TOML file.")],
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default runs/<name>-seed<N>).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (overrides the scenario's).")] = None,
    data_dir: DataDir = None,
    set_: Overrides = None,
) -> None:
    """Simulate a federation on real data: centralized vs local-only vs federated, per org."""
    from fedsec.evaluation.experiment import run_experiment
    from fedsec.evaluation.rundir import write_run
    from fedsec.scenarios.config import load_scenario

    overrides = list(set_ or []) + ([f"seed={seed}"] if seed is not None else [])
    config = load_scenario(scenario, overrides)
    target = out or Path("runs") / f"{config.name}-seed{config.seed}"
    if config.task == "anomaly":
        simulate_anomaly(config, data_dir, target)
        return
    with progress_bar() as bar:
        tasks = {arm: bar.add_task(arm, total=config.rounds) for arm in config.evaluation.arms}
        experiment = run_experiment(config, data_dir, lambda arm: bar.advance(tasks[arm]))
    write_run(experiment, target)
    show_summary(experiment.metrics, experiment.timing)
    console.print(f"run directory: [bold]{target}[/]")


def simulate_anomaly(config: Any, data_dir: Path | None, target: Path) -> None:
    """Unsupervised scenarios: one-class models trained on benign traffic, every arm."""
    from fedsec.evaluation.anomaly import run_anomaly_experiment
    from fedsec.evaluation.anomaly_arms import arm_names
    from fedsec.evaluation.anomaly_report import verdict
    from fedsec.evaluation.report import fmt
    from fedsec.evaluation.rundir import write_anomaly_run

    with progress_bar() as bar:
        tasks = {arm: bar.add_task(arm, total=config.rounds) for arm in arm_names(config)}
        experiment = run_anomaly_experiment(config, data_dir, lambda arm: bar.advance(tasks[arm]))
    write_anomaly_run(experiment, target)
    metrics, timing = experiment.metrics, experiment.timing
    grid = Table(
        "arm",
        "ROC-AUC",
        "mean org ROC-AUC",
        "PR-AUC",
        "detection",
        "own benign FPR",
        title=f"{metrics['scenario']} (seed {metrics['seed']}, {timing.get('wall_s', 0):.1f} s)",
    )
    for arm, result in metrics["arms"].items():
        o = result["overall"]
        grid.add_row(
            arm,
            fmt(o.get("roc_auc")),
            fmt(o.get("mean_org_roc_auc")),
            fmt(o.get("pr_auc")),
            fmt(o.get("detection_rate")),
            fmt(o.get("own_benign_fpr")),
        )
    console.print(grid)
    for line in verdict(metrics):
        console.print(line, highlight=False)
    console.print(f"run directory: [bold]{target}[/]")


def show_summary(metrics: dict, timing: dict) -> None:
    from fedsec.evaluation.report import ARM_LABELS, fmt, verdict

    grid = Table(
        "arm",
        "macro-F1",
        "benign FPR",
        "unseen-family recall",
        "unseen, right family",
        title=f"{metrics['scenario']} (seed {metrics['seed']}, {timing.get('wall_s', 0):.1f} s)",
    )
    for arm, result in metrics["arms"].items():
        o = result["overall"]
        grid.add_row(
            ARM_LABELS.get(arm, arm),
            fmt(o.get("macro_f1")),
            fmt(o.get("benign_fpr")),
            fmt(o.get("unseen_family_recall")),
            fmt(o.get("unseen_family_correct")),
        )
    console.print(grid)
    for line in verdict(metrics):
        console.print(line, highlight=False)


@app.command()
@clean_errors
def detect(
    model: Annotated[Path, typer.Option(help="Model bundle directory.")],
    input_: Annotated[list[Path], typer.Option("--input", help="Telemetry file(s) to score.")],
    format_: Annotated[str, typer.Option("--format", help="Input format (reader name).")],
    out: Annotated[Path, typer.Option(help="Alerts file (JSON Lines).")] = Path("alerts.jsonl"),
    org: Annotated[str | None, typer.Option(help="Use this organization's threshold.")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Malicious-score threshold (overrides the bundle's).")
    ] = None,
) -> None:
    """Score telemetry with a model bundle and write one alert per flagged flow."""
    from fedsec.detect.alerts import run_detection

    summary = run_detection(model, input_, format_, out, org=org, threshold=threshold)
    grid = Table(
        "predicted family",
        "alerts",
        "true labels in input",
        title=f"{summary.rows} rows scored, {summary.alerts} alerts → {out}",
    )
    for family, count in summary.by_family.items():
        grid.add_row(family, str(count), summary.truth_note.get(family, ""))
    console.print(grid)


def main() -> None:  # pragma: no cover - console entry point
    app()

"""Experiments on scenarios: list the built-in ones, simulate one (every task), sweep its
record-level DP epsilon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fedsec.cli.common import RoundProgress, clean_errors, console, finish_run, run_arms
from fedsec.cli.options import DataDir, Force, Overrides, RunOut
from fedsec.cli.summary import show_arms, show_summary, title_of
from fedsec.core import outputs


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
    from fedsec.experiments.rundir import write_run
    from fedsec.tasks.classification.experiment import run_experiment

    experiment = run_arms(
        config.evaluation.arms, config.rounds, lambda tick: run_experiment(config, data_dir, tick)
    )
    write_run(experiment, target, force=force)
    show_summary(experiment.metrics, experiment.timing)
    return experiment.metrics


def simulate_logs(config: Any, data_dir: Path | None, target: Path, force: bool) -> dict:
    """The logs task: DeepLog and the count baseline in the three arms (see docs/logs.md)."""
    from fedsec.tasks.logs.experiment import run_logs_experiment
    from fedsec.tasks.logs.report import ARM_LABELS, verdict, write_logs_run

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
    from fedsec.experiments.rundir import write_anomaly_run
    from fedsec.tasks.anomaly.arms import arm_names
    from fedsec.tasks.anomaly.experiment import run_anomaly_experiment
    from fedsec.tasks.anomaly.report import verdict

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
    from fedsec.experiments.privacy_curve import parse_epsilons, privacy_curve, write_curve
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

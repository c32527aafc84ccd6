"""Experiments on scenarios: list the built-in ones, simulate one (every task), sweep its
record-level DP epsilon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fedsec.cli.common import RoundProgress, clean_errors, console, finish_run, run_arms
from fedsec.cli.options import (
    DataDir,
    Force,
    Overrides,
    RayAddress,
    RunOut,
    Seed,
    Workers,
    parse_seeds,
    seed_overrides,
)
from fedsec.cli.summary import show_summary
from fedsec.core import outputs


@clean_errors
def scenarios() -> None:
    """List the built-in scenarios."""
    from fedsec.scenarios.loading import builtin_names, load_scenario

    grid = Table()
    grid.add_column("name", no_wrap=True)
    for header in ("task", "orgs", "partition", "view", "description"):
        grid.add_column(header)
    for name in builtin_names():
        s = load_scenario(name)
        summary = first_clause(" ".join(s.description.split()))
        grid.add_row(name, s.task, str(s.org_count()), s.partition.rule, s.view, summary)
    console.print(grid)


def first_clause(text: str) -> str:
    """``text`` up to its first "; " or ". " outside parentheses (never cut inside one)."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text[i : i + 2] in ("; ", ". "):
            return text[:i]
    return text


@clean_errors
def simulate(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or TOML file.")],
    out: RunOut = None,
    seed: Seed = None,
    data_dir: DataDir = None,
    set_: Overrides = None,
    force: Force = False,
) -> None:
    """Simulate a federation on real data: centralized vs local-only vs federated, per org."""
    from fedsec.scenarios.loading import load_scenario

    overrides = seed_overrides(set_, seed)
    config = load_scenario(scenario, overrides)  # refused before training's libraries load
    from fedsec.bundles.keys import default_signer
    from fedsec.experiments.driver import run_experiment
    from fedsec.experiments.rundir import WRITER as SIMULATE_WRITER
    from fedsec.experiments.rundir import write_run
    from fedsec.tasks.registry import task_of

    task = task_of(config)
    name = outputs.run_name(config.name, config.seed, config.privacy.run_suffix())
    signer = default_signer()  # a key that cannot sign is said before training, not after it
    with outputs.run_folder(out, name, force=force, writer=SIMULATE_WRITER) as target:
        run = run_arms(
            task.arm_names(config),
            config.rounds,
            lambda tick: run_experiment(config, data_dir, tick),
        )
        write_run(run, target, signer, force=force)
        show_summary(run.metrics, run.timing)
    finish_run(target, run.metrics)


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
    seed: Seed = None,
    seeds: Annotated[
        str | None,
        typer.Option(help="Comma-separated seeds, e.g. 0,1,2: every point at each (mean ± sd)."),
    ] = None,
    data_dir: DataDir = None,
    set_: Overrides = None,
    force: Force = False,
    workers: Workers = None,
    ray_address: RayAddress = None,
) -> None:
    """Sweep record-level DP epsilon; plot macro-F1 and rare-family recall against it."""
    from fedsec.experiments.sweep import check_settings
    from fedsec.scenarios.loading import load_scenario

    check_settings(workers, ray_address)
    seed_list = checked_seeds(seed, seeds)
    overrides = seed_overrides(set_, seed)
    config = load_scenario(scenario, overrides)  # refused before training's libraries load
    from fedsec.experiments.privacy_curve import WRITER as CURVE_WRITER
    from fedsec.experiments.privacy_curve import privacy_curve, write_curve

    values = epsilon_values(epsilons)
    name = outputs.run_name(f"{config.name}-privacy", seed_list[0] if seed_list else config.seed)
    with outputs.run_folder(out, name, force=force, writer=CURVE_WRITER) as target:
        with RoundProgress() as progress:
            progress.add("federated", config.rounds * len(values) * len(seed_list or [0]))
            curve = privacy_curve(
                config,
                values,
                data_dir,
                progress.advance,
                seeds=seed_list,
                workers=workers,
                address=ray_address,
            )
        write_curve(curve, config.to_toml(), target, force=force)
    console.print(curve_table(config.name, curve))
    finish_run(target, {}, "curve directory", latest=False)


def checked_seeds(seed: int | None, seeds: str | None) -> list[int] | None:
    """``--seeds`` parsed (None when not given); refused alongside ``--seed``."""
    from fedsec.core.errors import ConfigError

    if seed is not None and seeds is not None:
        raise ConfigError("--seed and --seeds: give one of them")
    return parse_seeds(seeds) if seeds is not None else None


def epsilon_values(epsilons: str) -> list[float]:
    """``--epsilons`` parsed; a malformed list is a usage error naming the option."""
    from fedsec.core.errors import ConfigError
    from fedsec.experiments.privacy_curve import parse_epsilons

    try:
        return parse_epsilons(epsilons)
    except ValueError as error:
        raise ConfigError(f"--epsilons: {error}") from error


#: The per-point figures of the privacy-utility table, in its columns' order.
CURVE_FIGURES = (
    "macro_f1",
    "rare_family_recall",
    "unseen_family_recall",
    "benign_fpr",
    "membership_advantage",
)


def curve_table(scenario_name: str, curve: dict) -> Table:
    """One row per (seed, epsilon) point; a figure the point lacks is a dash."""
    grid = Table(
        "seed",
        "target ε",
        "macro-F1",
        "rare-family recall",
        "unseen recall",
        "benign FPR",
        "MIA advantage",
        title=f"{scenario_name}: privacy–utility",
    )
    for p in curve["points"]:
        grid.add_row(
            str(p["seed"]),
            str(p["epsilon"]),
            *(f"{p[k]:.3f}" if p[k] is not None else "–" for k in CURVE_FIGURES),
        )
    return grid

"""``fedsec attack-matrix``: attacks x defences on one scenario, CSV + PNG heat map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import clean_errors, console, finish_run
from fedsec.cli.options import (
    DataDir,
    Force,
    Overrides,
    RayAddress,
    Workers,
    parse_seeds,
)
from fedsec.core import outputs

Names = Annotated[
    str | None,
    typer.Option(help="Comma-separated; default: all (see docs/robustness.md)."),
]


@clean_errors
def attack_matrix(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or TOML file.")],
    attacks: Names = None,
    defences: Names = None,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds, e.g. 0,1,2.")] = "0",
    dishonest: Annotated[int, typer.Option(help="Dishonest organizations (drawn per seed).")] = 1,
    rounds: Annotated[
        int | None, typer.Option(help="Rounds per run (default: the scenario's).")
    ] = None,
    families: Annotated[
        str | None, typer.Option(help="targeted_flip's families (default: one of its own).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder. Default: runs/SCENARIO-attack-matrix-seedN (-2, -3 ... when "
            "taken)."
        ),
    ] = None,
    data_dir: DataDir = None,
    set_: Overrides = None,
    force: Force = False,
    workers: Workers = None,
    ray_address: RayAddress = None,
) -> None:
    """Run every attack x defence (federated arm); honest organizations' macro-F1, backdoor
    success, who the defence excluded: attack_matrix.csv, summary.csv (mean ± sd over seeds,
    gap to the clean run), attack_matrix.png."""
    from fedsec.experiments.sweep import check_settings
    from fedsec.scenarios.loading import load_scenario

    check_settings(workers, ray_address)
    load_scenario(scenario, list(set_ or []))  # refused before training's libraries load
    from fedsec.experiments.attack_matrix import (
        ATTACKS,
        DEFENCES,
        MatrixPlan,
        run_matrix,
        write_matrix,
    )
    from fedsec.experiments.attack_matrix import WRITER as MATRIX_WRITER

    plan = MatrixPlan(
        scenario,
        attacks=_names(attacks, ATTACKS),
        defences=_names(defences, DEFENCES),
        seeds=parse_seeds(seeds),
        dishonest=dishonest,
        rounds=rounds,
        families=_names(families, ()),
        sets=list(set_ or []),
    )
    plan.check()
    config = load_scenario(scenario, plan.sets)
    name = outputs.run_name(f"{config.name}-attack-matrix", plan.seeds[0])
    with outputs.run_folder(out, name, force=force, writer=MATRIX_WRITER) as target:
        rows = run_matrix(plan, data_dir, _show, workers=workers, address=ray_address)
        write_matrix(rows, plan, config.to_toml(), target, force=force)
    _show_summary(rows, config.name)
    finish_run(target, {}, "matrix directory", latest=False)


def _show_summary(rows: list[dict], name: str) -> None:
    """summary.csv as a table: per attack and defence, over the seeds."""
    from fedsec.experiments.attack_matrix import summarize

    grid = Table(
        "attack",
        "defence",
        "seeds",
        "honest macro-F1",
        "gap to clean (undefended)",
        "gap to clean (same defence)",
        "backdoor success",
        title=f"{name}: attacks x defences (mean ± sd over seeds; gaps in points)",
    )
    for cell in summarize(rows):
        backdoor = cell["backdoor_success_mean"]
        grid.add_row(
            cell["attack"],
            cell["defence"],
            str(cell["seeds"]),
            _cell(cell, "honest_macro_f1"),
            _cell(cell, "gap_to_clean", points=True),
            _cell(cell, "gap_to_defended_clean", points=True),
            "–" if backdoor == "" else f"{backdoor:.3f}",
        )
    console.print(grid)


def _cell(cell: dict, key: str, points: bool = False) -> str:
    """A summary value as ``mean ± sd`` over the seeds (the mean alone for one seed, "–" if not
    measured): three decimals, or a signed gap in points with one."""
    mean, sd = cell[f"{key}_mean"], cell[f"{key}_sd"]
    if mean == "":
        return "–"
    scale, sign, digits = (100, "+", 1) if points else (1, "", 3)
    text = f"{mean * scale:{sign}.{digits}f}"
    return text if cell["seeds"] < 2 or sd == "" else f"{text} ± {sd * scale:.{digits}f}"


def _show(row: dict) -> None:
    console.print(
        escape(
            f"seed {row['seed']} {row['attack']:>13} x {row['defence']:<13} honest macro-F1 "
            f"{row['honest_macro_f1']:.3f}  backdoor {row['backdoor_success'] or '-'}  "
            f"({row['seconds']} s)"
        ),
        highlight=False,
    )


def _names(text: str | None, default: tuple[str, ...]) -> list[str]:
    if text is None:
        return list(default)
    return [part.strip() for part in text.split(",") if part.strip()]

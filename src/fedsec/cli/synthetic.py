"""Synthetic telemetry: ``generate`` a consortium's data sets, and the ``demo`` that simulates
one, federates and shows who detected what."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import RoundProgress, clean_errors, console, errors, finish_run
from fedsec.cli.options import Force, Seed, seed_overrides
from fedsec.cli.summary import show_summary
from fedsec.core import outputs
from fedsec.data.writers import DAILY_NAMES

SimulationOverrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a simulation field: --set flows=20000 (repeatable)."),
]


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
    from fedsec.simulator.output import GENERATOR, write_dataset

    overrides = seed_overrides(set_, seed)
    overrides += [f"flows={flows}"] if flows is not None else []
    config = load_simulation(scenario, overrides)
    outputs.check_target(out, force=force, writer=GENERATOR)
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


@clean_errors
def demo(
    out: Annotated[
        Path | None,
        typer.Option(help="Run folder. Default: runs/demo-seedN[-FORMAT] (-2, -3 ... when taken)."),
    ] = None,
    seed: Seed = None,
    format_: Annotated[
        str, typer.Option("--format", help="Telemetry format to simulate: flows, nf-v2, zeek.")
    ] = "flows",
    set_: SimulationOverrides = None,
    force: Force = False,
) -> None:
    """Simulate a consortium, federate, evaluate, and show who detected what (no data needed)."""
    from fedsec.experiments.demo import DATA_DIR, DEMO_SIMULATION, run_demo
    from fedsec.experiments.demo import WRITER as DEMO_WRITER
    from fedsec.simulator import load_simulation

    overrides = seed_overrides(set_, seed)
    config = load_simulation(DEMO_SIMULATION, overrides)  # refused before anything is written
    name = outputs.run_name("demo", config.seed, "" if format_ == "flows" else format_)
    with (
        outputs.run_folder(out, name, force=force, writer=DEMO_WRITER) as target,
        RoundProgress() as progress,
    ):

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
        f"{target}/{DATA_DIR}/<org>/{DAILY_NAMES.get(format_, '<file>').format(day='*')}",
        highlight=False,
        markup=False,
    )


def show_campaigns(campaigns: dict) -> None:
    """Per organization: recall on campaigns it never saw locally, federated vs local only."""
    from fedsec.reporting.report import fmt

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

"""``fedsec hunt``: rescan stored telemetry with a new model, report what a baseline missed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import (
    ScanProgress,
    check_apart,
    check_distinct_inputs,
    clean_errors,
    console,
    errors,
    telemetry_inputs,
)
from fedsec.cli.options import FLOW_FORMATS
from fedsec.core import outputs
from fedsec.core.console_text import shown
from fedsec.core.standard_streams import is_standard_input
from fedsec.data.readers import FORMATS

if TYPE_CHECKING:
    from fedsec.forensics.hunt import HuntResult
    from fedsec.forensics.report import IncidentOptions

READ_APART = "a hunt writes nothing in the model bundles it reads"


@clean_errors
def hunt(
    model: Annotated[Path, typer.Option(help="The new model's bundle (e.g. a run's model/).")],
    baseline: Annotated[
        Path,
        typer.Option(help="The model to compare with (e.g. a run's local/<org>/ bundle)."),
    ],
    format_: Annotated[
        str, typer.Option("--format", help=f"Flow input format; one of {FLOW_FORMATS}.")
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder (new, or an earlier hunt with --force).")
    ],
    input_: Annotated[
        list[Path] | None,
        typer.Option(
            "--input",
            help="Stored telemetry to rescan: --input a.csv b.csv ..., or a folder (the "
            "files in it of --format).",
        ),
    ] = None,
    more_inputs: Annotated[
        list[Path] | None,
        typer.Argument(metavar="FILES", help="More files to rescan.", show_default=False),
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Mapping file for --format mapped.")] = None,
    org: Annotated[
        str | None, typer.Option(help="Score both models at this organization's threshold.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="The new model's malicious-score threshold.")
    ] = None,
    baseline_org: Annotated[
        str | None, typer.Option(help="The baseline's organization (default: --org).")
    ] = None,
    baseline_threshold: Annotated[
        float | None, typer.Option(help="The baseline's malicious-score threshold.")
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="Trust bundles signed by this key or root CA; repeatable."),
    ] = None,
    allow_unsigned: Annotated[
        bool,
        typer.Option(
            "--allow-unsigned", help="Use unsigned or untrusted bundles (NOT authenticated)."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier hunt at --out.")] = (
        False
    ),
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads of the models' forward passes.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Flow chunks scored at once, each in its own thread (default: the cores "
            "divided by --threads, 1 to 4).",
        ),
    ] = None,
    incidents: Annotated[
        Path | None,
        typer.Option(
            help="Also correlate the new finds (found.jsonl) into incidents: report folder (as "
            "fedsec incidents writes, default settings)."
        ),
    ] = None,
) -> None:
    """Rescan stored telemetry with a new model and report, per family, what it flags that a
    baseline model missed (say, the federation's model against the organization's local one)."""
    from fedsec.bundles.keys import user_trust
    from fedsec.data.mapping import load_mapping
    from fedsec.detect.threads import inference_threads
    from fedsec.forensics.hunt import WRITER as HUNT_WRITER
    from fedsec.forensics.hunt import Side, retro_hunt

    check_format(format_)
    inputs = [*(input_ or []), *(more_inputs or [])]
    check_inputs(inputs)
    inputs = telemetry_inputs(inputs, format_)
    check_distinct_inputs(inputs)
    model, baseline = outputs.resolve(model), outputs.resolve(baseline)
    read = {"--model": model, "--baseline": baseline}
    outputs.check_target(out, force=force, writer=HUNT_WRITER)
    check_apart(out, "--out", read, READ_APART)
    incident_options = check_incidents(incidents, org, force, {"--out": out, **read})
    inference_threads(threads)
    with ScanProgress("scoring with both models") as progress:
        result = retro_hunt(
            Side(model, org, threshold),
            Side(baseline, baseline_org or org, baseline_threshold),
            inputs,
            format_,
            out,
            trust=user_trust(trust or [], allow_unsigned),
            mapping=load_mapping(mapping) if mapping is not None else None,
            force=force,
            workers=workers,
            progress=progress,
        )
    warn_untrusted(result)
    show(result)
    if incidents is not None and incident_options is not None:
        correlate_finds(result, incidents, incident_options)


def check_inputs(inputs: list[Path]) -> None:
    """At least one stored file, none of them standard input, none given twice."""
    if not inputs:
        raise typer.BadParameter("give at least one file to rescan", param_hint="--input")
    if any(is_standard_input(path) for path in inputs):
        raise typer.BadParameter(
            "a hunt rescans stored telemetry by name, not standard input ('-')",
            param_hint="--input",
        )
    check_distinct_inputs(inputs)


def check_format(fmt: str) -> None:
    """A flow format: a hunt compares flow models row by row (log sessions are not hunted)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"{fmt!r}: fedsec hunt reads flow files, one of {FLOW_FORMATS} (log sessions are "
            "scored with fedsec detect)",
            param_hint="--format",
        )


def check_incidents(
    incidents: Path | None, org: str | None, force: bool, others: dict[str, Path | None]
) -> IncidentOptions | None:
    """``--incidents``' options, its report folder checked before anything is scored (apart
    from the hunt's own ``--out`` and the bundles it reads, ``others``)."""
    if incidents is None:
        return None
    from fedsec.forensics.report import IncidentOptions, check_targets

    check_apart(incidents, "--incidents", others, f"outputs stay apart, {READ_APART}")

    incident_options = IncidentOptions(default_org=org, force=force)
    check_targets(incidents, incident_options)
    return incident_options


def warn_untrusted(result: HuntResult) -> None:
    """A warning per model used without a trusted signature (``--allow-unsigned``)."""
    for name, authenticity in result.authenticity.items():
        if authenticity is not None and not authenticity.trusted:
            errors.print(
                f"[bold red]WARNING (--allow-unsigned):[/] {name}: {authenticity.describe()}.",
                highlight=False,
            )


def correlate_finds(result: HuntResult, incidents: Path, options: IncidentOptions) -> None:
    """The new finds (found.jsonl) correlated into incidents, written and shown."""
    from fedsec.cli.incidents import show as show_incidents
    from fedsec.forensics.report import write_incidents

    show_incidents(write_incidents([result.out / "found.jsonl"], incidents, options))


def show(result: HuntResult) -> None:
    """The per-family table of what the new model found."""
    grid = Table(
        "flagged as",
        "alerts",
        "baseline missed",
        "baseline: other family",
        title=f"{result.rows} rows rescanned: new model {result.model['alerts']} alerts, "
        f"baseline {result.baseline['alerts']}",
    )
    for row in result.families:
        grid.add_row(
            shown(row["family"]),
            str(row["alerts"]),
            str(row["missed_by_baseline"]),
            str(row["baseline_other_family"]),
        )
    console.print(grid)
    if result.truth is not None:
        console.print(truth_table(result.truth))
    for notice in result.notices:
        errors.print(escape(f"note: {notice}"), highlight=False)
    for warning in result.warnings:
        errors.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False)
    dropped = sum(result.dropped.values())
    console.print(
        f"{dropped} baseline alerts not raised by the new model (dropped.jsonl). New finds: "
        f"{result.out / 'found.jsonl'}; report: {result.out / 'report.md'}",
        highlight=False,
    )


def truth_table(truth: list[dict]) -> Table:
    """Per family of the input's own labels: rows, and what each model flagged."""
    grid = Table(
        "input label family", "rows", "new model flagged", "baseline flagged", "new model only"
    )
    for row in truth:
        grid.add_row(
            shown(row["family"]),
            str(row["rows"]),
            str(row["model_flagged"]),
            str(row["baseline_flagged"]),
            str(row["model_only"]),
        )
    return grid

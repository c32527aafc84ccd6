"""``fedsec inspect FILE``: profile a flow file and propose a mapping to read it with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import check_apart, check_not_an_input, clean_errors, console, errors
from fedsec.core import atomic, outputs

if TYPE_CHECKING:
    from fedsec.data.inspect import Inspection


@clean_errors
def inspect(
    file: Annotated[
        Path, typer.Argument(help="Flow file to inspect (CSV, any compression, or Parquet).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Write the proposed mapping here (TOML) instead of printing it."),
    ] = None,
    parquet: Annotated[
        Path | None,
        typer.Option(help="Also write the file's rows, as read, to this Parquet file."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")] = (
        False
    ),
) -> None:
    """Show each column's type, distinct values and proposed role (label, context, dropped,
    categorical, feature), flag identifiers and timestamps that would leak, and propose a
    mapping for --format mapped: edit it, then use it in a scenario or with fedsec detect."""
    from fedsec.data.inspect import inspect_file
    from fedsec.data.readers.native import native_format

    check_targets(file, out, parquet, force)
    native = native_format(file)
    if native is not None and native[0] == "zeek":  # not a table to profile
        errors.print(escape(f"{file} is {native[1]}: {_as_it_is(native[0])}. Nothing written."))
        return
    found = inspect_file(file)
    errors.print(columns_table(file, found))
    show_notes(file, found, native)
    write_proposal(found, out)
    if parquet is not None:
        write_rows(file, found, parquet)


def check_targets(file: Path, out: Path | None, parquet: Path | None, force: bool) -> None:
    """``--out`` and ``--parquet``, when given: not the file inspected, new or forced, and not
    one file."""
    for target, option in ((out, "--out"), (parquet, "--parquet")):
        if target is not None:
            check_not_an_input([file], target, option, "it would replace the file inspected")
            outputs.check_file(target, force=force, option=option)
    if parquet is not None:  # else the rows, written last, replaced the mapping
        check_apart(parquet, "--parquet", {"--out": out}, "the mapping and the rows are two files")


def columns_table(file: Path, found: Inspection) -> Table:
    """One row per column: its type, distinct and missing values, and the role proposed."""
    grid = Table(
        "column",
        "type",
        "distinct",
        "missing",
        "role",
        "why",
        title=f"{file}: {found.rows} rows, {len(found.columns)} columns",
    )
    for column in found.columns:
        grid.add_row(
            column.name,
            column.dtype,
            str(column.distinct),
            str(column.nonfinite or column.missing),
            column.role,
            column.why,
        )
    return grid


def show_notes(file: Path, found: Inspection, native: tuple[str, str] | None) -> None:
    """The profile's warnings, and a note when fedsec also reads the file without a mapping."""
    for warning in found.warnings:
        errors.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False)
    if native is not None:
        errors.print(
            f"[bold]note:[/] {file} is {native[1]}: {_as_it_is(native[0])}; the mapping below "
            "reads it otherwise (--format mapped).",
            highlight=False,
        )


def write_proposal(found: Inspection, out: Path | None) -> None:
    """The proposed mapping (TOML): printed, or written to ``out``."""
    from fedsec.data.inspect import proposal_toml

    text = proposal_toml(found)
    if out is None:
        console.print(text, highlight=False, markup=False, end="")
    else:
        atomic.write_text(out, text)
        errors.print(f"proposed mapping → {escape(str(out))}", highlight=False)


def write_rows(file: Path, found: Inspection, parquet: Path) -> None:
    """The file's rows, as read (every column, copies included), to a Parquet file."""
    from fedsec.data.readers._tables import read_frame, write_parquet

    write_parquet(read_frame(file, allow_duplicates=[c.name for c in found.columns]), parquet)
    errors.print(f"rows → {escape(str(parquet))}", highlight=False)


def _as_it_is(fmt: str) -> str:
    return f"fedsec reads it as it is, with --format {fmt} (no mapping needed)"

"""Tables the ``simulate`` family of commands prints: one row per arm, the task's headline
metrics as columns, then the task's plain-language verdict."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import console


def title_of(metrics: dict, timing: dict) -> str:
    return f"{metrics['scenario']} (seed {metrics['seed']}, {timing.get('wall_s', 0):.1f} s)"


def show_summary(metrics: dict, timing: dict) -> None:
    """One row per arm of ``metrics`` (any task's: ``metrics["task"]``, classification when
    absent), with the columns and verdict its task declares."""
    from fedsec.reporting.report import fmt
    from fedsec.tasks.registry import task_named

    task = task_named(metrics.get("task", "classification"))
    grid = Table("arm", *task.summary_columns, title=title_of(metrics, timing))
    for arm, result in metrics["arms"].items():
        overall = result["overall"]
        row = (fmt(overall.get(key)) for key in task.summary_columns.values())
        grid.add_row(task.arm_labels.get(arm, arm), *row)
    console.print(grid)
    for line in task.verdict(metrics):
        console.print(line, highlight=False)
    for note in [*leak_notes(metrics), *privacy_notes(metrics)]:
        console.print(f"warning: {escape(note)}", highlight=False)


def leak_notes(metrics: dict) -> list[str]:
    """The readers' notes of feature columns that identify hosts or windows, or copy the
    label, and of byte counts of two conventions in one canonical view: said on the console as
    well as in report.md, as they make the numbers a leak's or the reader's."""
    notes = metrics.get("federation", {}).get("notes", [])
    return [n for n in notes if "feature column" in n or "byte counts mix conventions" in n]


def privacy_notes(metrics: dict) -> list[str]:
    """Client-level DP in clear: its headline epsilon does not hold against the coordinator,
    said on the console as well as in report.md."""
    client = metrics.get("privacy", {}).get("client_dp", {})
    return [client["coordinator_warning"]] if client.get("coordinator_warning") else []

"""Tables the ``simulate`` family of commands prints: one row per arm."""

from __future__ import annotations

from rich.table import Table

from fedsec.cli.common import console


def show_arms(
    title: str, metrics: dict, columns: dict[str, str], labels: dict[str, str], lines: list[str]
) -> None:
    """One row per arm of ``metrics``: ``columns`` maps each header to an overall metric."""
    from fedsec.reporting.report import fmt

    grid = Table("arm", *columns, title=title)
    for arm, result in metrics["arms"].items():
        overall = result["overall"]
        grid.add_row(labels.get(arm, arm), *(fmt(overall.get(k)) for k in columns.values()))
    console.print(grid)
    for line in lines:
        console.print(line, highlight=False)


def title_of(metrics: dict, timing: dict) -> str:
    return f"{metrics['scenario']} (seed {metrics['seed']}, {timing.get('wall_s', 0):.1f} s)"


def show_summary(metrics: dict, timing: dict) -> None:
    from fedsec.reporting.report import ARM_LABELS, verdict

    columns = {
        "macro-F1": "macro_f1",
        "benign FPR": "benign_fpr",
        "unseen-family recall": "unseen_family_recall",
        "unseen, right family": "unseen_family_correct",
    }
    show_arms(title_of(metrics, timing), metrics, columns, ARM_LABELS, verdict(metrics))

"""A retro-hunt's ``report.md``: what the new model found that the baseline missed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fedsec.forensics.hunt import HuntResult

FAMILY_COLUMNS = {
    "family (new model)": "family",
    "alerts": "alerts",
    "baseline missed": "missed_by_baseline",
    "baseline: other family": "baseline_other_family",
    "baseline: same family": "baseline_same_family",
}
TRUTH_COLUMNS = {
    "family (input labels)": "family",
    "rows": "rows",
    "new model flagged": "model_flagged",
    "baseline flagged": "baseline_flagged",
    "new model only": "model_only",
    "baseline only": "baseline_only",
}


def table(rows: list[dict[str, Any]], columns: dict[str, str]) -> list[str]:
    """A Markdown table of ``rows`` (missing values as blanks)."""
    cells = [[_cell(row.get(key)) for key in columns.values()] for row in rows]
    return [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(row) + " |" for row in cells),
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def family_columns(result: HuntResult) -> dict[str, str]:
    columns = dict(FAMILY_COLUMNS)
    if any("missed_by_baseline_attacks_per_labels" in row for row in result.families):
        columns["missed, attacks per input labels"] = "missed_by_baseline_attacks_per_labels"
    if any(row.get("in_baseline_classes") is not None for row in result.families):
        columns["baseline trained on it"] = "in_baseline_classes"
    return columns


def side_line(name: str, side: dict[str, Any]) -> str:
    trained = ", ".join(side.get("organizations") or []) or "?"
    point = f"org {side['org']}" if side.get("org") else "its default threshold"
    if side.get("threshold") is not None:
        point = f"threshold {side['threshold']}"
    return (
        f"- {name}: `{side['bundle']}` ({side['kind']}, arm {side.get('arm') or '?'}, trained by "
        f"{trained}; sha256 {str(side.get('weights_sha256'))[:12]}…), at {point}: "
        f"{side['alerts']} alerts"
    )


def render(result: HuntResult) -> str:
    """The report: both models, the new model's families against the baseline, the input's own
    labels when it has them, and the baseline alerts the new model dropped."""
    lines = [
        "# Retro-hunt",
        "",
        f"{result.rows} rows rescanned.",
        *(f"\nNote: {notice}." for notice in result.notices),
        *(f"\nWarning: {warning}." for warning in result.warnings),
        "",
        side_line("new model", result.model),
        side_line("baseline", result.baseline),
        "",
        "## What the new model flags, and what the baseline said about those rows",
        "",
        *table(result.families, family_columns(result)),
        "",
        "`found.jsonl` holds the new model's alerts on rows the baseline missed or named as",
        "another family (each with `hunt.status` and `hunt.baseline_family`).",
    ]
    if result.truth is not None:
        lines += [
            "",
            "## By the input's own labels",
            "",
            *table(result.truth, TRUTH_COLUMNS),
        ]
    lines += ["", "## Baseline alerts the new model does not raise (`dropped.jsonl`)", ""]
    if result.dropped:
        lines += [f"- {family}: {count}" for family, count in result.dropped.items()]
    else:
        lines.append("none")
    return "\n".join(lines) + "\n"

"""What every detector's alerts share: the summary, input checks, the alert's context and the
atomic JSON-lines writer."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fedsec.bundles.signing import Authenticity
from fedsec.core import atomic
from fedsec.core.errors import InputError
from fedsec.data.flows import FlowTable
from fedsec.data.taxonomy import UNLABELED
from fedsec.models.classifier import FamilyClassifier


@dataclass
class DetectionSummary:
    rows: int
    alerts: int
    by_family: dict[str, int] = field(default_factory=dict)
    truth_note: dict[str, str] = field(default_factory=dict)
    authenticity: Authenticity | None = None  # who signed the bundle that scored the rows


def check_columns(model: FamilyClassifier, table: FlowTable, inputs: Sequence[Path]) -> None:
    """The input must carry every feature the model needs (columns that were missing in
    training data may be absent)."""
    frame = table.features(model.view).frame
    pre = model.preprocessor
    required = [s.name for s in pre.numeric if not s.indicator] + list(pre.categorical)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            inputs[0],
            f"lacks columns the model was trained on: {missing[:10]}"
            + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""),
        )


def check_format(view: str, manifest: dict, fmt: str, inputs: Sequence[Path]) -> None:
    """Native features only mean something in the format the model was trained on."""
    trained_on = manifest.get("provenance", {}).get("input_formats", [])
    if view == "native" and trained_on and fmt not in trained_on:
        raise InputError(
            inputs[0],
            f"model was trained on native {trained_on} features; "
            f"{fmt!r} files need a model trained on the canonical view",
        )


def context_records(table: FlowTable, rows: np.ndarray, offset: int = 0) -> list[dict]:
    """Each alert's start, for ``rows`` (positions in ``table``): where the row was read (the
    file and its data row there, 1-based, header not counted; ``offset + row`` is its position
    among all rows scored) and its non-empty context (time, addresses, ports, ...). Built
    column-wise: one conversion per table, not a pandas row lookup per alert."""
    context = table.context.iloc[rows]
    names = list(context.columns)
    values = context.to_numpy() if names else np.empty((len(rows), 0), dtype=object)
    present = ~context.isna().to_numpy() if names else np.empty((len(rows), 0), dtype=bool)
    lines = table.source_row[rows].tolist()
    records = []
    for row, line, row_values, row_present in zip(
        rows.tolist(), lines, values, present, strict=True
    ):
        record: dict = {
            "row": offset + row,
            "source_file": str(table.source_file[row]),
            "source_row": line,
        }
        for column, value, keep in zip(names, row_values, row_present, strict=True):
            if keep:
                record[column] = value.item() if hasattr(value, "item") else value
        records.append(record)
    return records


def add_dataset_label(record: dict, table: FlowTable, row: int) -> None:
    """The input's own label, when it has one (unlabeled input: none)."""
    if table.family[row] != UNLABELED:
        record["dataset_label"] = str(table.label[row])


def alert_lines(records: list[dict]) -> bytes:
    """Alerts as JSON Lines, one object per line."""
    return "".join(json.dumps(r, default=str) + "\n" for r in records).encode("utf-8")


def write_alerts(
    out: Path, records: list[dict], lines: Callable[[list[dict]], bytes] = alert_lines
) -> None:
    """One JSON object per line (``lines``: in an alert format), written atomically."""
    atomic.write_bytes(Path(out), lines(records))


def add_network(records: list[dict], table: FlowTable, rows: np.ndarray) -> None:
    """Each record's transport and service class (``rows``: its row in ``table``), when the
    input has flow fields; column-wise."""
    canonical = table.canonical
    if canonical is None:
        return
    for key, column in (("transport", "protocol"), ("service", "service")):
        if column not in canonical.columns:
            continue
        values = canonical[column].iloc[rows].astype(object).to_numpy().tolist()
        for record, value in zip(records, values, strict=True):
            if isinstance(value, str):
                record[key] = value

"""What every detector's alerts share: the summary, input checks, the alert's context and the
atomic JSON-lines writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from fedsec.bundles.signing import Authenticity
from fedsec.core import standard_streams
from fedsec.core.errors import InputError
from fedsec.data.flows import FlowTable
from fedsec.data.taxonomy import UNLABELED
from fedsec.detect.drift import FeatureShift
from fedsec.models.family import FamilyScorer

#: One line per alert; numpy numbers as numbers; datetimes through ``str`` as ``json`` did.
JSON_OPTIONS = (
    orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME
)


@dataclass
class DetectionSummary:
    rows: int
    alerts: int
    by_family: dict[str, int] = field(default_factory=dict)
    truth_note: dict[str, str] = field(default_factory=dict)
    authenticity: Authenticity | None = None  # who signed the bundle that scored the rows
    notices: list[str] = field(default_factory=list)  # what the analyst must know of the rule
    threshold: float | None = None  # the score above which rows were flagged (None: arg-max)
    unit: str = "row"  # what ``rows`` counts: flow rows, or log sessions
    shifts: list[FeatureShift] = field(default_factory=list)  # likely unit mistakes (drift.py)
    piped: dict[str, int | str] | None = None  # a pipe's bytes read and their sha256


def check_columns(model: FamilyScorer, table: FlowTable, inputs: Sequence[Path]) -> None:
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


def absent_features(model: FamilyScorer, table: FlowTable) -> str | None:
    """A notice when the input holds no value at all for features the model was trained with
    and never saw missing (a canonical field the mapping does not fill, say): they enter as
    their training mean, and the scores may not mean what they meant in training."""
    frame = table.features(model.view).frame
    absent = [
        spec.name
        for spec in model.preprocessor.numeric
        if not spec.indicator and spec.name in frame and frame[spec.name].isna().all()
    ]
    if not absent:
        return None
    shown = ", ".join(absent[:8]) + (f" (+{len(absent) - 8} more)" if len(absent) > 8 else "")
    return (
        f"the input holds no value for {shown} in its first {len(frame):,} rows, which the model "
        "was trained with and never saw missing: they are read as their training mean, so its "
        "scores may mean little (fill them, e.g. in the mapping's [canonical] table, or use a "
        "model trained without them)"
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
    column by column: one conversion to Python values per column, not a lookup per alert."""
    context = table.context.iloc[rows]
    records = [
        {"row": offset + row, "source_file": str(file), "source_row": line}
        for row, file, line in zip(
            rows.tolist(),
            table.source_file[rows].tolist(),
            table.source_row[rows].tolist(),
            strict=True,
        )
    ]
    for column in context.columns:
        values = context[column]
        present = values.notna().to_numpy().tolist()
        for record, value, keep in zip(records, values.tolist(), present, strict=True):
            if keep:
                record[column] = value
    return records


def add_dataset_label(record: dict, table: FlowTable, row: int) -> None:
    """The input's own label, when it has one (unlabeled input: none)."""
    if table.family[row] != UNLABELED:
        record["dataset_label"] = str(table.label[row])


def alert_lines(records: list[dict]) -> bytes:
    """Alerts as JSON Lines, one compact object per line (orjson: a C encoder; numbers as
    numbers, times and other objects as their text)."""
    return b"".join(orjson.dumps(r, default=str, option=JSON_OPTIONS) for r in records)


def write_alerts(
    out: Path, records: list[dict], lines: Callable[[list[dict]], bytes] = alert_lines
) -> None:
    """One JSON object per line (``lines``: in an alert format), written atomically, or sent
    to standard output for ``-``."""
    with standard_streams.stream(Path(out)) as sink:
        sink.write(lines(records))


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

"""A chunk's flow alerts as fedsec's flat JSON lines, written from their columns: the bytes
``alert_lines`` (orjson, record by record) gives, numbers written by Arrow as orjson writes them,
texts encoded by orjson once per distinct value (or only quoted, where they need no escape),
the records' keys once, and the lines assembled at once (:mod:`fedsec.detect.line_slots`).

A flow's time is written as read (``timestamp``, often local time without a zone) and, where it
is one, as ``timestamp_utc``: the same instant in UTC as ECS ``@timestamp`` gives it (read in
``--timezone``), so a reader never has to guess the zone."""

from __future__ import annotations

from datetime import UTC, tzinfo

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fedsec.data.flow_times import utc_timestamp
from fedsec.data.taxonomy import UNLABELED
from fedsec.detect.alert_arrays import coded
from fedsec.detect.arrow_text import float_texts, present, rows_with, str_texts, strings
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.column_values import python_round
from fedsec.detect.context_arrays import python_values, times
from fedsec.detect.line_slots import Slots
from fedsec.detect.records import JSON_OPTIONS

#: ``JSON_OPTIONS`` for one value (no newline after it).
VALUE_OPTIONS = JSON_OPTIONS & ~orjson.OPT_APPEND_NEWLINE


def flat_lines(
    alerts: FlowAlerts, naive_zone: tzinfo = UTC, read_times: pa.Array | None = None
) -> bytes:
    """The (unexplained) alerts as flat JSON lines (``naive_zone``: of times without a zone;
    ``read_times``: their :func:`flow_times`, when already read)."""
    table, rows = alerts.table, alerts.rows
    slots = Slots(len(alerts))
    slots.text('{"row":')
    slots.each(_ints(alerts.offset + rows))
    slots.text(',"source_file":')
    slots.coded(*_distinct(table.source_file[rows]))
    slots.text(',"source_row":')
    slots.each(_ints(table.source_row[rows]))
    for name in table.context.columns:
        texts = _context(table.context[name].iloc[rows])
        slots.text("," + _value(name) + ":", present(texts))
        slots.each(texts)
    slots.text(',"family":')
    slots.coded(*_distinct(alerts.families))
    slots.text(',"score":')
    slots.number(python_round(alerts.scores, 6), _number)
    slots.text(',"top_families":{')
    _top_families(slots, alerts)
    slots.text("}")
    labels = coded(str_texts(table.label[rows]), _value)
    labelled = labels.present & np.asarray(table.family[rows] != UNLABELED, dtype=bool)
    slots.text(',"dataset_label":', labelled)
    slots.coded(labels.texts, labels.codes, labelled)
    _utc_times(slots, alerts, naive_zone, read_times)
    slots.text("}\n")
    return slots.lines()


def flow_times(alerts: FlowAlerts, naive_zone: tzinfo) -> pa.Array | None:
    """Each alert's flow time in UTC (null: none, or not a time); None without the column."""
    if "timestamp" not in alerts.table.context.columns:
        return None
    return times(alerts.table.context["timestamp"].iloc[alerts.rows], naive_zone)


def _utc_times(slots: Slots, alerts: FlowAlerts, naive_zone: tzinfo, read: pa.Array | None) -> None:
    """``timestamp_utc`` of the alerts whose flow has a time (``read``: those times, if read)."""
    texts = flow_times(alerts, naive_zone) if read is None else read
    if texts is None:
        return
    here = present(texts)
    slots.text(',"timestamp_utc":"', here)
    slots.each(texts)
    slots.text('"', here)


def utc_records(records: list[dict], naive_zone: tzinfo) -> list[dict]:
    """The records, each with a time given ``timestamp_utc`` last (as :func:`flat_lines`)."""
    out = []
    for record in records:
        utc = utc_timestamp(record.get("timestamp"), naive_zone)
        out.append(record if utc is None else {**record, "timestamp_utc": utc})
    return out


def _value(value: object) -> str:
    return orjson.dumps(value, default=str, option=VALUE_OPTIONS).decode("utf-8")


def _number(value: float) -> str:
    return orjson.dumps(value, option=VALUE_OPTIONS).decode("ascii")


def numbers(values: np.ndarray) -> pa.Array:
    """orjson's text of each float (Arrow's where it writes the same)."""
    return float_texts(values, _number)


def _ints(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values)), pa.string())


def _distinct(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """orjson's text of each distinct value's ``str``, and each value's index into them."""
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    return [_value(str(v)) for v in distinct.tolist()], codes


def _context(column: pd.Series) -> pa.Array:
    """orjson's text of the alerts' context values (null: absent)."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return _ints(column.to_numpy())
    if dtype == np.float64:
        values = column.to_numpy()
        return pc.if_else(pa.array(np.isnan(values)), pa.scalar(None, pa.string()), numbers(values))
    if isinstance(dtype, pd.StringDtype):
        return orjson_strings(pa.array(column).cast(pa.string()))
    values = python_values(column)
    kinds = {type(v) for v in values if v is not None}
    if kinds == {int}:
        return strings([None if v is None else str(v) for v in values])
    if kinds == {float}:
        floats = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        return pc.if_else(pa.array(np.isnan(floats)), pa.scalar(None, pa.string()), numbers(floats))
    return strings([None if v is None else _value(v) for v in values])


def _escaped(data: np.ndarray) -> np.ndarray:
    """The bytes orjson escapes in a string: control characters, ``"``, ``\\``."""
    return (data < 0x20) | (data == 0x22) | (data == 0x5C)


def orjson_strings(texts: pa.Array) -> pa.Array:
    """orjson's text of each string: quoted, escaped by orjson where it escapes a character."""
    odd = rows_with(texts, _escaped)
    out = pc.binary_join_element_wise('"', texts, '"', "", null_handling="emit_null")
    if odd.any():
        mask = pa.array(odd)
        written = strings([_value(t) for t in texts.filter(mask).to_pylist()])
        out = pc.replace_with_mask(out, mask, written)
    return out


def _top_families(slots: Slots, alerts: FlowAlerts) -> None:
    keys = slots.pool([_value(str(c)) + ":" for c in alerts.classes])
    width = alerts.top.shape[1]
    chances, whole = slots.numbers(python_round(alerts.chances, 4), _number)
    whole = whole.reshape(-1, max(width, 1))
    for j in range(width):
        if j:
            slots.text(",")
        slots.add(keys + alerts.top[:, j].astype(np.int64))
        slots.add(chances.reshape(-1, width)[:, j])
        slots.text(".0", whole[:, j])

"""A flagged row whose time is given but is not a time has no alert, in any alert format: an
alert is dated by its flow's own time, never an invented one (ECS and EVE), and a flat alert
carrying the text would be refused by ``fedsec incidents``. The row is refused with its file and
data row; with ``--rejects`` its line is set aside instead (:mod:`fedsec.detect.batch_reading`)."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pandas as pd
import pyarrow as pa

from fedsec.core.errors import InputError
from fedsec.data.flow_times import time_refusal, unreadable_time
from fedsec.data.flows import FlowTable
from fedsec.detect.alert_endpoints import refuse_bad_endpoints, refuse_bad_record_endpoints
from fedsec.detect.context_arrays import python_values, times
from fedsec.detect.ecs_values import alert_file


def unreadable_times(column: pd.Series, flow_times: pa.Array) -> np.ndarray:
    """Positions in ``column`` whose time is given but is not one (``flow_times``: the column
    read as times, null where absent or not a time)."""
    absent = np.flatnonzero(flow_times.is_null().to_numpy(zero_copy_only=False))
    if not len(absent):
        return absent
    values = python_values(column.iloc[absent])
    return absent[np.asarray([unreadable_time(v) for v in values], dtype=bool)]


def refuse_unreadable_time(
    table: FlowTable, rows: np.ndarray, flow_times: pa.Array | None = None
) -> None:
    """An InputError for the first of ``rows`` (positions in ``table``, the flagged rows) whose
    time is given but is not one (``flow_times``: their times, when already read), or whose
    address or port is given but is not one (:mod:`fedsec.detect.alert_endpoints`)."""
    refuse_bad_endpoints(table, rows)
    if "timestamp" not in table.context.columns:
        return
    column = table.context["timestamp"].iloc[rows]
    bad = unreadable_times(column, times(column, UTC) if flow_times is None else flow_times)
    if len(bad):
        row = int(rows[bad[0]])
        value = python_values(column.iloc[bad[:1]])[0]
        where = alert_file(str(table.source_file[row]))
        column_name = table.context_columns.get("timestamp", "timestamp")
        raise InputError(where, time_refusal(value, int(table.source_row[row]), column_name))


def refuse_unreadable_record(record: dict) -> None:
    """:func:`refuse_unreadable_time` of one alert record."""
    refuse_bad_record_endpoints(record)
    value = record.get("timestamp")
    if unreadable_time(value):
        where = alert_file(str(record.get("source_file", "")))
        raise InputError(where, time_refusal(value, record.get("source_row")))

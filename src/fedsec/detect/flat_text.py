"""A chunk's flow alerts as fedsec's flat JSON lines, written from their columns: the bytes
``alert_lines`` (orjson, record by record) gives, each value encoded by orjson itself (numbers a
column at a time) and the records' keys once."""

from __future__ import annotations

import orjson

from fedsec.data.taxonomy import UNLABELED
from fedsec.detect.alert_columns import AlertColumns
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.column_values import by_distinct
from fedsec.detect.records import JSON_OPTIONS

#: ``JSON_OPTIONS`` for one value (no newline after it).
VALUE_OPTIONS = JSON_OPTIONS & ~orjson.OPT_APPEND_NEWLINE


def flat_lines(alerts: FlowAlerts) -> bytes:
    """The (unexplained) alerts as flat JSON lines."""
    columns = AlertColumns(alerts, source=None)
    table, rows = alerts.table, alerts.rows
    files = by_distinct([str(f) for f in table.source_file[rows].tolist()], _value)
    context = [_context(columns, name) for name in table.context.columns]
    families = by_distinct(columns.families, _value)
    lines = []
    for i, (row, file, line, family, score, top, label) in enumerate(
        zip(
            (alerts.offset + rows).tolist(),
            files,
            columns.source_rows,
            families,
            _numbers(columns.scores),
            _top_families(alerts),
            _labels(alerts),
            strict=True,
        )
    ):
        parts = [b'{"row":%d,"source_file":%b,"source_row":%d' % (row, file, line)]
        parts += [cells[i] for cells in context if cells[i] is not None]
        parts.append(b',"family":%b,"score":%b,"top_families":{%b}' % (family, score, top))
        if label is not None:
            parts.append(b',"dataset_label":%b' % label)
        parts.append(b"}\n")
        lines.append(b"".join(parts))
    return b"".join(lines)


def _labels(alerts: FlowAlerts) -> list[bytes | None]:
    """The input's own label (None: unlabeled)."""
    table, rows = alerts.table, alerts.rows
    labelled = (table.family[rows] != UNLABELED).tolist()
    texts = by_distinct([str(v) for v in table.label[rows].tolist()], _value)
    return [t if keep else None for t, keep in zip(texts, labelled, strict=True)]


def _value(value: object) -> bytes:
    return orjson.dumps(value, default=str, option=VALUE_OPTIONS)


def _numbers(values: list) -> list[bytes]:
    """orjson's text of each number (one call for the column)."""
    if not values:
        return []
    return orjson.dumps(values, option=VALUE_OPTIONS)[1:-1].split(b",")


def _context(columns: AlertColumns, name: str) -> list[bytes | None]:
    """``,"name":value`` per alert (None: absent)."""
    values = columns.context(name)
    key = b"," + _value(name) + b":"
    kinds = {type(v) for v in values if v is not None}
    if kinds in ({int}, {float}):
        present = [v for v in values if v is not None]
        texts = iter(_numbers(present))
        return [None if v is None else key + next(texts) for v in values]
    texts = by_distinct(values, _value) if kinds else [None] * len(values)
    return [None if v is None else key + t for v, t in zip(values, texts, strict=True)]


def _top_families(alerts: FlowAlerts) -> list[bytes]:
    keys = [_value(str(c)) + b":" for c in alerts.classes]
    chances = _numbers([round(c, 4) for c in alerts.chances.ravel().tolist()])
    width = alerts.top.shape[1]
    if width == 0:
        return [b""] * len(alerts)
    cells = [keys[c] + t for c, t in zip(alerts.top.ravel().tolist(), chances, strict=True)]
    return [b",".join(cells[i : i + width]) for i in range(0, len(cells), width)]

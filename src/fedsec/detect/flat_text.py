"""A chunk's flow alerts as fedsec's flat JSON lines, written from their columns: the bytes
``alert_lines`` (orjson, record by record) gives, each value encoded by orjson itself (numbers a
column at a time) and the records' keys once."""

from __future__ import annotations

import orjson

from fedsec.data.taxonomy import UNLABELED
from fedsec.detect.alert_columns import AlertColumns
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.column_values import by_distinct, python_round
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
    contexts = [
        b"".join([c for c in cells if c is not None]) for cells in zip(*context, strict=True)
    ]
    lines = [
        b'{"row":%d,"source_file":%b,"source_row":%d%b,"family":%b,"score":%b,'
        b'"top_families":{%b}%b}\n'
        % (row, file, line, where, family, score, top, b"" if label is None else label)
        for row, file, line, where, family, score, top, label in zip(
            (alerts.offset + rows).tolist(),
            files,
            columns.source_rows,
            contexts or [b""] * len(rows),
            families,
            _numbers(columns.scores),
            _top_families(alerts),
            _labels(alerts),
            strict=True,
        )
    ]
    return b"".join(lines)


def _labels(alerts: FlowAlerts) -> list[bytes | None]:
    """The input's own label (None: unlabeled)."""
    table, rows = alerts.table, alerts.rows
    labelled = (table.family[rows] != UNLABELED).tolist()
    texts = by_distinct([str(v) for v in table.label[rows].tolist()], _value)
    texts = [b',"dataset_label":' + t for t in texts]
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
    chances = _numbers(python_round(alerts.chances, 4).tolist())
    width = alerts.top.shape[1]
    if width == 0:
        return [b""] * len(alerts)
    cells = [keys[c] + t for c, t in zip(alerts.top.ravel().tolist(), chances, strict=True)]
    return [
        b",".join(group) for group in zip(*[cells[j::width] for j in range(width)], strict=True)
    ]

"""The column-wise alert text before the lines were joined by Arrow (the baseline of
``bench/alert_text_rate.py``): a chunk's flow alerts as ECS documents, Suricata EVE events or
flat lines, each field's text computed for the chunk as a Python list
(`bench/alert_columns.py`) and each line assembled by one f-string (ECS, EVE) or one
``%`` format (flat, each value encoded by orjson)."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as quote

import orjson

from alert_columns import AlertColumns  # bench/ is on the path
from fedsec.data.taxonomy import UNLABELED
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.column_values import by_distinct, python_round
from fedsec.detect.ecs import (
    AlertSource,
    _encode,
    _log_text,
    _shared_text,
    ecs_schema,
)
from fedsec.detect.ecs_text import _alert_text, _event_text
from fedsec.detect.records import JSON_OPTIONS

#: ``JSON_OPTIONS`` for one value (no newline after it).
VALUE_OPTIONS = JSON_OPTIONS & ~orjson.OPT_APPEND_NEWLINE

#: Sentinels standing for an alert's own values in a document's constant text.


def ecs_lines(alerts: FlowAlerts, source: AlertSource) -> bytes:
    """The alerts as ECS JSON lines."""
    columns = AlertColumns(alerts, source)
    ecs = _encode({"ecs": {"version": ecs_schema()["ecs_version"]}})[1:-1]
    events = {f: _event_text(source, f) for f in set(columns.families)}
    shared = {f: _shared_text(source, f) for f in events}
    logs = {p: _log_text(p) for p in set(columns.paths)}
    lines = [
        f'{{"@timestamp": "{time}", {ecs}, "event": {events[family][0]}"{ident}"'
        f"{events[family][1]}{risk}{events[family][2]}{where}, "
        f'"message": {message}{shared[family]}{logs[path]}, "fedsec": {{{custom}}}}}\n'
        for time, family, ident, risk, where, message, path, custom in zip(
            columns.timestamps,
            columns.families,
            columns.event_ids,
            columns.risk_texts,
            _endpoints(columns),
            _messages(columns),
            columns.paths,
            _custom(columns),
            strict=True,
        )
    ]
    return "".join(lines).encode("utf-8")


def eve_lines(alerts: FlowAlerts, source: AlertSource) -> bytes:
    """The alerts as Suricata EVE ``alert`` JSON lines."""
    columns = AlertColumns(alerts, source)
    host = f', "host": {quote(source.observer)}' if source.observer else ""
    verdicts = {f: f'{host}, "alert": {_alert_text(source, f)}' for f in set(columns.families)}
    files = {p: f', "file": {quote(p)}' if p else "" for p in set(columns.paths)}
    lines = [
        f'{{"timestamp": "{time.removesuffix("Z")}000+0000", "event_type": "alert"{fields}'
        f'{verdicts[family]}, "fedsec": {{"event_id": "{ident}", "risk_score": {risk}, '
        f"{custom}{files[path]}}}}}\n"
        for time, fields, family, ident, risk, custom, path in zip(
            columns.timestamps,
            _eve_fields(columns),
            columns.families,
            columns.event_ids,
            columns.risk_texts,
            _custom(columns),
            columns.paths,
            strict=True,
        )
    ]
    return "".join(lines).encode("utf-8")


def _eve_fields(columns: AlertColumns) -> list[str]:
    """The EVE event's addresses, ports, transport, application protocol and Community ID."""
    src, sport, dst, dport = columns.endpoints
    named = zip(columns.transports, columns.protocols, columns.community_ids, strict=True)
    heads = {
        key: "".join(
            text
            for text, value in zip(
                (f', "proto": "{(key[0] or "").upper()}"', f', "app_proto": "{key[1]}"'),
                key,
                strict=True,
            )
            if value is not None
        )
        for key in set(zip(columns.transports, columns.protocols, strict=True))
    }
    return [
        (f', "src_ip": "{a}"' if a is not None else "")
        + (f', "src_port": {p}' if p is not None else "")
        + (f', "dest_ip": "{b}"' if b is not None else "")
        + (f', "dest_port": {q}' if q is not None else "")
        + heads[name, protocol]
        + (f', "community_id": "{flow}"' if flow is not None else "")
        for a, p, b, q, (name, protocol, flow) in zip(src, sport, dst, dport, named, strict=True)
    ]


def _endpoints(columns: AlertColumns) -> list[str]:
    """``source``, ``destination`` and ``network`` (each only with a field to hold)."""
    src, sport, dst, dport = columns.endpoints
    return [
        _side("source", a, p)
        + _side("destination", b, q)
        + (f', "network": {{{net}}}' if net else "")
        for a, p, b, q, net in zip(src, sport, dst, dport, columns.networks, strict=True)
    ]


def _side(name: str, address: str | None, port: int | None) -> str:
    if address is None:
        return "" if port is None else f', "{name}": {{"port": {port}}}'
    if port is None:
        return f', "{name}": {{"ip": "{address}"}}'
    return f', "{name}": {{"ip": "{address}", "port": {port}}}'


def _messages(columns: AlertColumns) -> list[str]:
    """``message``: the family, the addresses and the score, on one line."""
    src, _, dst, dport = columns.endpoints
    return [
        quote(
            f"fedsec {family}"
            + (f" from {a}" if a is not None else "")
            + ("" if b is None else f" to {b}" if q is None else f" to {b}:{q}")
            + f" (score {score})"
        )
        for family, a, b, q, score in zip(
            columns.families, src, dst, dport, columns.scores, strict=True
        )
    ]


def _custom(columns: AlertColumns) -> list[str]:
    """Each alert's ``fedsec`` fields (the object's inside), in ``_fedsec``'s order."""
    source, threshold = columns.named, columns.threshold
    model = _encode({"sha256": source.model_sha256, "kind": source.model_kind})
    decision = "argmax" if threshold is None else "threshold"
    tail = f', "decision": "{decision}", "model": {model}'
    limit = "" if threshold is None else f', "threshold": {threshold}'
    reasons = columns.reasons or [None] * len(columns)
    quoted = {f: quote(f) for f in set(columns.families)}
    out = []
    for family, score, confidence, row, why, top, line, label, flow, extra in zip(
        columns.families,
        columns.score_texts,
        columns.confidence_texts,
        (columns.alerts.offset + columns.alerts.rows).tolist(),
        reasons,
        columns.top_families,
        columns.source_rows,
        columns.labels,
        columns.flow_ids,
        columns.extras,
        strict=True,
    ):
        text = (
            f'"family": {quoted[family]}, "score": {score}, "confidence": {confidence}{limit}, '
            f'"row": {row}{tail}'
        )
        if why is not None:
            text += f', "reasons": {why}'
        text += f', "top_families": {top}, "source_row": {line}'
        if label is not None:
            text += f', "dataset_label": {label}'
        if flow is not None:
            text += f', "flow_id": {flow}'
        if extra is not None:
            text += f', "context": {extra}'
        out.append(text)
    return out


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

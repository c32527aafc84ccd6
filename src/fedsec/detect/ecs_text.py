"""A chunk's flow alerts as ECS documents or Suricata EVE events, written from their columns:
the text ``json.dumps(ecs_document(record))`` (and ``eve_document``) gives alert by alert, each
document's constant parts (per run, per family, per file) encoded once and its own values
computed field by field (:mod:`fedsec.detect.alert_columns`)."""

from __future__ import annotations

from functools import cache
from json.encoder import encode_basestring_ascii as quote

from fedsec.detect import attack
from fedsec.detect.alert_columns import AlertColumns
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.ecs import (
    AlertSource,
    _encode,
    _event,
    _log_text,
    _rule,
    _shared_text,
    _threat,
    ecs_schema,
)
from fedsec.detect.eve import _alert

#: Sentinels standing for an alert's own values in a document's constant text.
_ID, _RISK = "\0id", "\0risk"


def ecs_lines(alerts: FlowAlerts, source: AlertSource) -> bytes:
    """The alerts as ECS JSON lines."""
    columns = AlertColumns(alerts, source)
    ecs = _encode({"ecs": {"version": ecs_schema()["ecs_version"]}})[1:-1]
    lines = []
    for i, (time, family, ident, risk, path, custom) in enumerate(
        zip(
            columns.timestamps,
            columns.families,
            columns.event_ids,
            columns.risk_texts,
            columns.paths,
            _custom(columns),
            strict=True,
        )
    ):
        before, middle, after = _event_text(source, family)
        lines.append(
            f'{{"@timestamp": "{time}", {ecs}, "event": {before}"{ident}"{middle}{risk}{after}'
            f'{_endpoints(columns, i)}, "message": {_message(columns, i)}'
            f'{_shared_text(source, family)}{_log_text(path)}, "fedsec": {{{custom}}}}}\n'
        )
    return "".join(lines).encode("utf-8")


def eve_lines(alerts: FlowAlerts, source: AlertSource) -> bytes:
    """The alerts as Suricata EVE ``alert`` JSON lines."""
    columns = AlertColumns(alerts, source)
    src, sport, dst, dport = columns.endpoints
    host = f', "host": {quote(source.observer)}' if source.observer else ""
    lines = []
    for i, (time, family, ident, risk, path, custom) in enumerate(
        zip(
            columns.timestamps,
            columns.families,
            columns.event_ids,
            columns.risk_texts,
            columns.paths,
            _custom(columns),
            strict=True,
        )
    ):
        fields = [
            f'"timestamp": "{time.removesuffix("Z")}000+0000", "event_type": "alert"',
            *_eve_endpoints(src[i], sport[i], dst[i], dport[i]),
        ]
        name, protocol, flow = columns.transports[i], columns.protocols[i], columns.community_ids[i]
        if name is not None:
            fields.append(f'"proto": "{name.upper()}"')
        if protocol is not None:
            fields.append(f'"app_proto": "{protocol}"')
        if flow is not None:
            fields.append(f'"community_id": "{flow}"')
        where = f', "file": {quote(path)}' if path else ""
        lines.append(
            "{" + ", ".join(fields) + f'{host}, "alert": {_alert_text(source, family)}, '
            f'"fedsec": {{"event_id": "{ident}", "risk_score": {risk}, {custom}{where}}}}}\n'
        )
    return "".join(lines).encode("utf-8")


def _eve_endpoints(
    src: str | None, sport: int | None, dst: str | None, dport: int | None
) -> list[str]:
    pairs = (("src_ip", src), ("src_port", sport), ("dest_ip", dst), ("dest_port", dport))
    return [
        f'"{key}": "{value}"' if isinstance(value, str) else f'"{key}": {value}'
        for key, value in pairs
        if value is not None
    ]


def _endpoints(columns: AlertColumns, i: int) -> str:
    """``source``, ``destination`` and ``network`` (each only with a field to hold)."""
    src, sport, dst, dport = columns.endpoints
    text = _side("source", src[i], sport[i]) + _side("destination", dst[i], dport[i])
    network = columns.network(i)
    return text + (f', "network": {{{network}}}' if network else "")


def _side(name: str, address: str | None, port: int | None) -> str:
    if address is None:
        return "" if port is None else f', "{name}": {{"port": {port}}}'
    if port is None:
        return f', "{name}": {{"ip": "{address}"}}'
    return f', "{name}": {{"ip": "{address}", "port": {port}}}'


def _message(columns: AlertColumns, i: int) -> str:
    src, _, dst, dport = columns.endpoints
    parts = [f"fedsec {columns.families[i]}"]
    if src[i] is not None:
        parts.append(f"from {src[i]}")
    if dst[i] is not None:
        parts.append(f"to {dst[i]}" + (f":{dport[i]}" if dport[i] is not None else ""))
    parts.append(f"(score {columns.scores[i]})")
    return quote(" ".join(parts))


def _custom(columns: AlertColumns) -> list[str]:
    """Each alert's ``fedsec`` fields (the object's inside), in ``_fedsec``'s order."""
    source, threshold = columns.named, columns.threshold
    model = _encode({"sha256": source.model_sha256, "kind": source.model_kind})
    decision = "argmax" if threshold is None else "threshold"
    tail = f', "decision": "{decision}", "model": {model}'
    limit = "" if threshold is None else f', "threshold": {threshold}'
    reasons = columns.reasons or [None] * len(columns)
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
            f'"family": {quote(family)}, "score": {score}, "confidence": {confidence}{limit}, '
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


@cache
def _event_text(source: AlertSource, family: str) -> tuple[str, str, str]:
    """The ``event`` object's text around its id and its risk score."""
    event = _event(source, family, 0.0, _ID)
    event["risk_score"] = _RISK
    before, rest = _encode(event).split(quote(_ID))
    middle, after = rest.split(quote(_RISK))
    return before, middle, after


@cache
def _alert_text(source: AlertSource, family: str) -> str:
    """The EVE ``alert`` object of ``family``'s alerts (the same for all of them)."""
    document = {"rule": _rule(source, family), **_threat(family)}
    return _encode(_alert(document, family, attack.severity(family)))

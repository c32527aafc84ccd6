"""A chunk's flow alerts as ECS documents or Suricata EVE events, written from their columns:
the text ``json.dumps(ecs_document(record))`` (and ``eve_document``) gives alert by alert, each
document's constant parts (per run, per family, per file) encoded once, its own values computed
field by field (:mod:`fedsec.detect.alert_arrays`), and the lines assembled at once
(:mod:`fedsec.detect.line_slots`)."""

from __future__ import annotations

from functools import cache
from json.encoder import encode_basestring_ascii as quote

import numpy as np
import pyarrow.compute as pc

from fedsec import __version__
from fedsec.detect import attack
from fedsec.detect.alert_arrays import AlertArrays, Codes, coded, escaped
from fedsec.detect.arrow_text import json_float, present
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.column_values import python_round
from fedsec.detect.ecs import (
    ECS_CONTEXT,
    AlertSource,
    _encode,
    _event,
    _log_text,
    _rule,
    _shared_text,
    _threat,
    ecs_schema,
    time_source,
)
from fedsec.detect.ecs_values import IANA_NUMBER, ZONE_FIELDS, ip_zone
from fedsec.detect.eve import _alert
from fedsec.detect.line_slots import Slots, separated
from fedsec.detect.reasons_text import reason_slots

#: Sentinels standing for an alert's own values in a document's constant text.
_ID, _RISK = "\0id", "\0risk"


def ecs_lines(alerts: FlowAlerts, source: AlertSource) -> bytes:
    """The alerts as ECS JSON lines."""
    columns, slots = AlertArrays(alerts, source), Slots(len(alerts))
    ecs = _encode({"ecs": {"version": ecs_schema()["ecs_version"]}})[1:-1]
    codes, names = columns.families
    events = [_event_text(source, f) for f in names]
    slots.text('{"@timestamp": "')
    slots.each(columns.timestamps)
    slots.coded([f'", {ecs}, "event": {e[0]}"' for e in events], codes)
    slots.each(columns.event_ids)
    slots.coded([f'"{e[1]}' for e in events], codes)
    slots.number(columns.risks)
    slots.coded([e[2] for e in events], codes)
    _endpoints(slots, columns)
    slots.text(', "message": ')
    _message(slots, columns)
    slots.coded([_shared_text(source, f) for f in names], codes)
    path_codes, paths = columns.paths
    slots.coded([_log_text(p) for p in paths], path_codes)
    slots.text(', "fedsec": {')
    _custom(slots, columns)
    slots.text("}}\n")
    return slots.lines()


def eve_lines(alerts: FlowAlerts, source: AlertSource) -> bytes:
    """The alerts as Suricata EVE ``alert`` JSON lines."""
    columns, slots = AlertArrays(alerts, source), Slots(len(alerts))
    host = f', "host": {quote(source.observer)}' if source.observer else ""
    codes, names = columns.families
    times = columns.timestamps
    slots.text('{"timestamp": "')
    slots.each(pc.utf8_rtrim(times, "Z"))  # ISO-8601 times, written with one Z
    slots.text('000+0000", "flow_id": ')
    slots.each(columns.flow_ids)
    slots.text(', "event_type": "alert"')
    _eve_fields(slots, columns)
    slots.coded([f'{host}, "alert": {_alert_text(source, f)}' for f in names], codes)
    slots.text(', "fedsec": {"event_id": "')
    slots.each(columns.event_ids)
    slots.text('", "risk_score": ')
    slots.number(columns.risks)
    slots.text(", ")
    _custom(slots, columns)
    path_codes, paths = columns.paths
    slots.coded([f', "file": {quote(p)}' if p else "" for p in paths], path_codes)
    organization = source.organization
    slots.text(f', "organization": {quote(organization)}' if organization else "")
    for key, names in zip(("src_host", "dest_host"), columns.host_names, strict=True):
        here = present(names)  # a host name: src_ip/dest_ip are IPs only
        slots.text(f', "{key}": "', here)
        slots.each(names)
        slots.text('"', here)
    slots.text("}}\n")
    return slots.lines()


def _eve_fields(slots: Slots, columns: AlertArrays) -> None:
    """The EVE event's addresses, ports, transport, application protocol and Community ID."""
    (src, dst), (sport, dport) = columns.addresses, columns.port_texts
    for key, texts, quoted in (
        ("src_ip", src, True),
        ("src_port", sport, False),
        ("dest_ip", dst, True),
        ("dest_port", dport, False),
    ):
        here = present(texts)
        slots.text(f', "{key}": ' + ('"' if quoted else ""), here)
        slots.each(texts)
        slots.text('"', here & quoted)
    names, protocols = columns.transports, columns.protocols
    slots.coded([f', "proto": "{t.upper()}"' for t in names.texts], names.codes, names.present)
    slots.coded(
        [f', "app_proto": "{p}"' for p in protocols.texts], protocols.codes, protocols.present
    )
    flows = columns.community_ids
    here = present(flows)
    slots.text(', "community_id": "', here)
    slots.each(flows)
    slots.text('"', here)


def _endpoints(slots: Slots, columns: AlertArrays) -> None:
    """``source``, ``destination`` and ``network`` (each only with a field to hold)."""
    (src, dst), (sport, dport) = columns.addresses, columns.port_texts
    src_name, dst_name = columns.host_names
    sides = (("source", src, src_name, sport), ("destination", dst, dst_name, dport))
    for name, address, host, port in sides:
        has_ip, has_name, has_port = present(address), present(host), present(port)
        named = slots.indexes(host)
        fields = [
            (has_ip, ['"ip": "', slots.indexes(address), '"']),
            (has_name, ['"address": "', named, '", "domain": "', named, '"']),
            (has_port, ['"port": ', slots.indexes(port)]),
        ]
        _object(slots, f', "{name}": {{', fields)
    names, protocols, flows = columns.transports, columns.protocols, columns.community_ids
    heads = [
        f'"transport": "{t}"' + (f', "iana_number": "{IANA_NUMBER[t]}"' if t in IANA_NUMBER else "")
        for t in names.texts
    ]
    fields = [
        (names.present, [slots.pool(heads) + names.codes]),
        (
            protocols.present,
            [slots.pool([f'"protocol": "{p}"' for p in protocols.texts]) + protocols.codes],
        ),
        (present(flows), ['"community_id": "', slots.indexes(flows), '"']),
    ]
    _object(slots, ', "network": {', fields)


def _object(slots: Slots, head: str, fields: list[tuple[np.ndarray, list]]) -> None:
    """``head`` and the fields present, then ``}`` (nothing where no field is)."""
    some = np.logical_or.reduce([here for here, _ in fields])
    slots.text(head, some)
    separated(slots, fields, ", ")
    slots.text("}", some)


def _message(slots: Slots, columns: AlertArrays) -> None:
    """``message``: the family, the addresses and the score, on one line."""
    (src, dst), (_, dport) = columns.shown_addresses, columns.port_texts
    codes, names = columns.families
    slots.text('"')
    slots.coded([quote(f"fedsec {f}")[1:-1] for f in names], codes)
    slots.text(" from ", present(src))
    slots.each(escaped(src))
    to = present(dst)
    with_port = to & present(dport)
    bracketed = with_port & pc.fill_null(pc.match_substring(dst, ":"), False).to_numpy(
        zero_copy_only=False
    )  # an IPv6 address before its port: [2001:db8::2]:443 (RFC 3986)
    slots.choice([(bracketed, " to ["), (to, " to ")])
    slots.each(escaped(dst))
    slots.choice([(bracketed, "]:"), (with_port, ":")])
    slots.each(dport, to)
    slots.text(" (score ")
    slots.number(columns.rounded_scores, float.__repr__)
    slots.text(')"')


def _custom(slots: Slots, columns: AlertArrays) -> None:
    """Each alert's ``fedsec`` fields (the object's inside), in ``_fedsec``'s order."""
    source, threshold = columns.source, columns.threshold
    model = _encode(source.model)
    version = _encode(__version__)
    decision = "argmax" if threshold is None else "threshold"
    limit = "" if threshold is None else f', "threshold": {threshold}'
    codes, names = columns.families
    slots.coded([f'"family": {quote(f)}, "score": ' for f in names], codes)
    slots.number(columns.rounded_scores)
    slots.text(', "confidence": ')
    slots.number(columns.confidences)
    slots.text(f'{limit}, "row": ')
    slots.each(columns.rows)
    slots.text(f', "decision": "{decision}", "model": {model}, "version": {version}')
    if columns.alerts.explanation is not None:
        slots.text(', "reasons": ')
        reason_slots(slots, columns.alerts.explanation, columns.alerts.rows)
    slots.text(', "top_families": ')
    _top_families(slots, columns)
    slots.text(', "source_row": ')
    slots.each(columns.source_rows)
    _optional(slots, ', "dataset_label": ', columns.labels)
    flows = columns.context("flow_id")
    here = present(flows)
    slots.text(', "flow_id": "', here)
    slots.each(escaped(flows))
    slots.text('"', here)
    for column, key in ZONE_FIELDS:
        _optional(slots, f', "{key}": ', coded(columns.context(column), _quoted_zone))
    _extras(slots, columns)
    flow_times = columns.flow_times
    untimed = 1 if flow_times is None else flow_times.is_null().to_numpy(zero_copy_only=False)
    sources = [f', "time_source": "{time_source(t)}"' for t in (True, False)]
    slots.coded(sources, np.broadcast_to(np.asarray(untimed, dtype=np.int64), len(columns)))


def _quoted_zone(text: str) -> str | None:
    found = ip_zone(text)
    return None if found is None else quote(found)


def _optional(slots: Slots, key: str, values: Codes) -> None:
    slots.text(key, values.present)
    slots.coded(values.texts, values.codes, values.present)


def _extras(slots: Slots, columns: AlertArrays) -> None:
    """``fedsec.context``: the context columns ECS has no field for, as text."""
    names = [c for c in columns.alerts.table.context.columns if c not in ECS_CONTEXT]
    if not names:
        return
    fields = []
    for name in names:
        texts = columns.context(name)
        fields.append((present(texts), [f'{quote(name)}: "', slots.indexes(escaped(texts)), '"']))
    _object(slots, ', "context": {', fields)


def _top_families(slots: Slots, columns: AlertArrays) -> None:
    """``fedsec.top_families``: the three likeliest families and their probabilities."""
    alerts = columns.alerts
    heads = [f'{{"family": {quote(c)}, "probability": ' for c in alerts.classes]
    first, later = slots.pool(heads), slots.pool([", " + h for h in heads])
    width = alerts.top.shape[1]
    chances, whole = slots.numbers(python_round(alerts.chances, 4), json_float)
    whole = whole.reshape(-1, max(width, 1))
    slots.text("[")
    for j in range(width):
        slots.add((later if j else first) + alerts.top[:, j].astype(np.int64))
        slots.add(chances.reshape(-1, width)[:, j])
        slots.choice([(whole[:, j], ".0}")], "}")
    slots.text("]")


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

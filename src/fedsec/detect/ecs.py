"""Alerts in the Elastic Common Schema (ECS): nested JSON objects a SIEM (Elastic, OpenSearch,
Splunk's ECS add-ons) indexes as they are.

A detector's record (the flat ``fedsec`` alert: context columns, family, score, reasons) becomes
one ECS document: ``@timestamp``, ``event.*`` (a stable ``event.id``), ``source``/``destination``
/``network``, ``threat.*`` (ATT&CK), ``rule.*`` (the model), ``observer``/``organization``,
``log.file.path``, and fedsec's own fields under ``fedsec.*`` (typed in :data:`FEDSEC_FIELDS`),
the ECS fields used pinned with their types in ``ecs_fields.json`` (of the release named)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache, lru_cache
from importlib import resources

from fedsec import __version__
from fedsec.core.errors import InputError
from fedsec.data.flow_times import iso_utc, time_refusal, unreadable_time, utc_timestamp
from fedsec.detect import attack
from fedsec.detect.alert_endpoints import domain, refuse_bad_record_endpoints
from fedsec.detect.community import community_id
from fedsec.detect.ecs_values import (
    IANA_NUMBER,
    ZONE_FIELDS,
    alert_file,
    app_protocol,
    ip,
    ip_zone,
    port,
    transport,
)
from fedsec.detect.fingerprints import FlowPlace, alert_place, content_id, id_head

#: The context columns an alert turns into ECS fields; every other context column is kept
#: as text under ``fedsec.context``.
ECS_CONTEXT = frozenset({"timestamp", "src_ip", "src_port", "dst_ip", "dst_port", "flow_id"})
#: What a record holds besides its context (each handled below).
RECORD_FIELDS = frozenset(
    {
        "row", "source_file", "source_row", "family", "score", "top_families", "dataset_label",
        "threshold", "threshold_source", "top_features", "reasons", "transport", "service",
        "session", "events", "top_k", "score_kind", "label", "unexpected", "occurrence",
        "fingerprint",
    }
)  # fmt: skip
KNOWN = RECORD_FIELDS | ECS_CONTEXT
#: Record fields copied as they are under ``fedsec``, in this order.
COPIED = ("threshold_source", "top_k", "score_kind", "session", "events", "occurrence", "row")
#: Service classes that name an application protocol (``network.protocol``); classes such
#: as ``registered`` or ``mail`` name none.
PROTOCOLS: dict[str, str] = {
    **{name: name for name in ("http", "ftp", "ssh", "telnet", "smtp", "dns", "dhcp", "ntp")},
    **{name: name for name in ("snmp", "ldap", "smb", "rdp", "irc", "vnc", "mqtt", "modbus")},
    "tls": "tls",
    "ssl": "tls",
}
DATASETS = {"flows": "fedsec.flows", "anomaly": "fedsec.anomaly", "logs": "fedsec.logs"}

#: fedsec's own fields (ECS custom fields, under ``fedsec``), with their Elasticsearch types.
FEDSEC_FIELDS: dict[str, str] = {
    "fedsec.family": "keyword",
    "fedsec.score": "float",
    "fedsec.confidence": "float",
    "fedsec.threshold": "float",
    "fedsec.threshold_source": "keyword",
    "fedsec.decision": "keyword",
    "fedsec.top_k": "long",
    "fedsec.score_kind": "keyword",
    "fedsec.model.sha256": "keyword",
    "fedsec.model.kind": "keyword",
    "fedsec.model.signer": "keyword",
    "fedsec.version": "keyword",
    "fedsec.reasons": "nested",
    "fedsec.reasons.feature": "keyword",
    "fedsec.reasons.contribution": "float",
    "fedsec.reasons.value": "keyword",
    "fedsec.reasons.event": "keyword",
    "fedsec.reasons.position": "long",
    "fedsec.reasons.rank": "long",
    "fedsec.reasons.reason": "keyword",
    "fedsec.reasons.template": "match_only_text",
    "fedsec.top_families": "nested",
    "fedsec.top_families.family": "keyword",
    "fedsec.top_families.probability": "float",
    "fedsec.row": "long",
    "fedsec.source_row": "long",
    "fedsec.dataset_label": "keyword",
    "fedsec.flow_id": "keyword",
    "fedsec.source_zone": "keyword",
    "fedsec.destination_zone": "keyword",
    "fedsec.session": "keyword",
    "fedsec.events": "long",
    "fedsec.occurrence": "long",
    "fedsec.context": "flattened",
    "fedsec.hunt.status": "keyword",  # fedsec hunt's note on an alert the baseline did not raise
    "fedsec.hunt.baseline_family": "keyword",
    "fedsec.time_source": "keyword",
}


@cache
def ecs_schema() -> dict:
    """The pinned ECS field definitions (version, licence note, fields)."""
    text = resources.files("fedsec.detect").joinpath("ecs_fields.json").read_text("utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class AlertSource:
    """What every alert of one ``fedsec detect`` run shares: the model that raised it, where it
    runs, and how to read times without a zone."""

    model_sha256: str
    model_kind: str
    model_signer: str | None = None  # the signer's fingerprint (None: an unsigned bundle)
    dataset: str = DATASETS["flows"]
    organization: str | None = None
    observer: str | None = None
    naive_zone: tzinfo = UTC
    created: str = field(default_factory=lambda: iso_utc(datetime.now(UTC)))

    @property
    def id_head(self) -> bytes:
        """What every alert's id of the run hashes first (:mod:`fedsec.detect.fingerprints`)."""
        return id_head(self.model_sha256, self.organization)

    @property
    def model(self) -> dict[str, str]:
        """``fedsec.model``: the bundle's sha256 and kind, and who signed it."""
        signer = {} if self.model_signer is None else {"signer": self.model_signer}
        return {"sha256": self.model_sha256, "kind": self.model_kind, **signer}


def event_id(source: AlertSource, path: str, where: object, time: str | None = None) -> str:
    """Stable: a flow's id hashes the bundle, the organization and its content and data row
    (``where``, a :class:`FlowPlace`; :mod:`fedsec.detect.fingerprints`), whatever the file's
    name; a log session's, the file, the session (and its occurrence) and its time (UTC
    ISO-8601, when it has one: two files that took one path in turn)."""
    if isinstance(where, FlowPlace):
        return content_id(source.id_head, where.fingerprint, where.row)
    key = source.id_head + f"{path}\0{where}".encode() + time_key(time)
    return hashlib.sha256(key).hexdigest()[:32]


def time_key(time: str | None) -> bytes:
    """What an id hashes after the session: nothing for one without a time of its own."""
    return b"" if time is None else b"\0" + time.encode()


@cache
def _absolute(path: str) -> str:
    return os.path.abspath(path) if path else path


def ecs_document(record: dict, source: AlertSource) -> dict:
    """The ECS document of one alert record."""
    head, family, path, custom = _parts(record, source)
    return {**head, **_shared(source, family), **_log(path), "fedsec": custom}


def ecs_line(record: dict, source: AlertSource) -> str:
    """``json.dumps(ecs_document(record, source))``, the same text, written faster: the parts
    every alert of a family shares (ATT&CK, rule, observer, organization) and the file's path
    are encoded once, not once per alert."""
    head, family, path, custom = _parts(record, source)
    return (
        _encode(head)[:-1]
        + _shared_text(source, family)
        + _log_text(path)
        + ', "fedsec": '
        + _encode(custom)
        + "}"
    )


#: ``json.dumps`` with its defaults, less the check for reference cycles (documents are trees).
_encode = json.JSONEncoder(check_circular=False).encode


def _parts(record: dict, source: AlertSource) -> tuple[dict, str, str, dict]:
    """What is the alert's own: the document's head (``@timestamp`` .. ``message``), its family,
    its file's path and the ``fedsec`` fields."""
    family = str(record.get("family", "anomalous session"))
    confidence = attack.confidence(record)
    path = _absolute(str(record.get("source_file", "")))
    where = alert_place(record)
    refuse_bad_record_endpoints(record)
    time = utc_timestamp(record.get("timestamp"), source.naive_zone)
    if time is None and unreadable_time(record.get("timestamp")):
        where = alert_file(str(record.get("source_file", "")))
        raise InputError(where, time_refusal(record["timestamp"], record.get("source_row")))
    head: dict = {
        "@timestamp": time or source.created,
        "ecs": {"version": ecs_schema()["ecs_version"]},
        "event": _event(source, family, confidence, event_id(source, path, where, time)),
    }
    head.update(_network(record))
    head["message"] = _message(family, record.get("score"), head)
    custom = _fedsec(record, source, family, confidence)
    custom["time_source"] = time_source(time is not None)
    return head, family, path, custom


def time_source(timed: bool) -> str:
    """What ``@timestamp`` is: the flow's own time, or (it has none) when it was detected."""
    return "flow" if timed else "detection"


def _shared(source: AlertSource, family: str) -> dict:
    """The fields every alert of ``family`` in this run shares, in document order."""
    shared = {**_threat(family), "rule": _rule(source, family)}
    shared["observer"] = {"type": "ids", "vendor": "fedsec", "product": "fedsec"}
    if source.observer:
        shared["observer"]["name"] = source.observer
    if source.organization:
        shared["organization"] = {"name": source.organization}
    return shared


@lru_cache(maxsize=1024)
def _shared_text(source: AlertSource, family: str) -> str:
    return ", " + json.dumps(_shared(source, family))[1:-1]


def _log(path: str) -> dict:
    return {"log": {"file": {"path": path}}} if path else {}


@lru_cache(maxsize=1024)
def _log_text(path: str) -> str:
    return ", " + json.dumps(_log(path))[1:-1] if path else ""


def _event(source: AlertSource, family: str, confidence: float, identifier: str) -> dict:
    network = source.dataset != DATASETS["logs"]
    return {
        "id": identifier,
        "kind": "alert",
        "category": ["network", "intrusion_detection"] if network else ["intrusion_detection"],
        "type": ["info"],
        "module": "fedsec",
        "dataset": source.dataset,
        "severity": attack.severity(family),
        "risk_score": attack.risk_score(family, confidence),
        "created": source.created,
    }


def _network(record: dict) -> dict:
    parts: dict = {}
    sides = (("source", "src_ip", "src_port"), ("destination", "dst_ip", "dst_port"))
    for side, address, number in sides:
        found = ip(record.get(address))
        name = None if found is not None else domain(record.get(address))  # a host name
        values = {"ip": found, "address": name, "domain": name, "port": port(record.get(number))}
        values = {k: v for k, v in values.items() if v is not None}
        if values:
            parts[side] = values
    network = {}
    name = transport(record.get("transport"))
    if name is not None:
        network["transport"] = name
        if name in IANA_NUMBER:
            network["iana_number"] = IANA_NUMBER[name]
    protocol = app_protocol(PROTOCOLS.get(record.get("service")), name)
    if protocol is not None:
        network["protocol"] = protocol
    flow_hash = community_id(name, parts.get("source", {}), parts.get("destination", {}))
    if flow_hash is not None:
        network["community_id"] = flow_hash
    if network:
        parts["network"] = network
    return parts


@cache
def _threat(family: str) -> dict:
    """The family's ATT&CK object (one per family, shared by its alerts: never mutated)."""
    found = attack.techniques(family)
    if not found:
        return {}
    tactics = attack.tactic_ids(family)
    return {
        "threat": {
            "framework": "MITRE ATT&CK",
            "technique": {
                "id": [t.id for t in found],
                "name": [t.name for t in found],
                "reference": [t.reference for t in found],
            },
            "tactic": {
                "id": tactics,
                "name": [attack.TACTICS[t] for t in tactics],
                "reference": [f"{attack.ATTACK_URL}/tactics/{t}/" for t in tactics],
            },
        }
    }


def _rule(source: AlertSource, family: str) -> dict:
    return {
        "id": f"fedsec.{family.replace(' ', '_')}",
        "name": family,
        "category": source.dataset.removeprefix("fedsec."),
        "ruleset": source.model_kind,
        "version": source.model_sha256,
    }


def _message(family: str, score: object, document: dict) -> str:
    parts = [f"fedsec {family}"]
    src, dst = document.get("source", {}), document.get("destination", {})
    if "ip" in src or "address" in src:
        parts.append(f"from {src.get('ip', src.get('address'))}")
    if "ip" in dst or "address" in dst:
        address = dst.get("ip", dst.get("address"))
        host = f"[{address}]" if ":" in address and "port" in dst else address  # RFC 3986
        target = host + (f":{dst['port']}" if "port" in dst else "")
        parts.append(f"to {target}")
    parts.append(f"(score {score})")
    return " ".join(parts)


def _fedsec(record: dict, source: AlertSource, family: str, confidence: float) -> dict:
    custom: dict = {"family": family, "score": record.get("score")}
    custom["confidence"] = round(confidence, 6)
    if record.get("threshold") is not None:
        custom["threshold"] = record["threshold"]
    for key in COPIED:
        if key in record:
            custom[key] = record[key]
    custom["decision"] = _decision(record)
    custom["model"] = source.model
    custom["version"] = __version__
    reasons = _reasons(record)
    if reasons is not None:
        custom["reasons"] = reasons
    if "top_families" in record:
        custom["top_families"] = [
            {"family": name, "probability": p} for name, p in record["top_families"].items()
        ]
    if "source_row" in record:
        custom["source_row"] = record["source_row"]
    label = record.get("dataset_label", record.get("label"))
    if label is not None:
        custom["dataset_label"] = str(label)
    if record.get("flow_id") is not None:
        custom["flow_id"] = str(record["flow_id"])
    zones = {key: ip_zone(record.get(column)) for column, key in ZONE_FIELDS}
    custom.update({key: zone for key, zone in zones.items() if zone is not None})
    extra = {k: str(v) for k, v in record.items() if k not in KNOWN}
    if extra:
        custom["context"] = extra
    return custom


def _decision(record: dict) -> str:
    if "top_k" in record:
        return "top_k"
    return "threshold" if record.get("threshold") is not None else "argmax"


def _reasons(record: dict) -> list[dict] | None:
    """Why: the features that pushed the row to its family (classifier), those with most of the
    reconstruction error (anomaly), or the events the log model did not expect."""
    if "reasons" in record:
        return [_typed_reason(r) for r in record["reasons"]]
    if "top_features" in record:
        return [_typed_reason({**f, "contribution": f["share"]}) for f in record["top_features"]]
    if "unexpected" in record:
        return record["unexpected"]
    return None


def _typed_reason(reason: dict) -> dict:
    """A feature reason with its value as text (one type whatever the column's)."""
    typed = {"feature": reason["feature"], "contribution": reason["contribution"]}
    if reason.get("value") is not None:
        typed["value"] = str(reason["value"])
    return typed

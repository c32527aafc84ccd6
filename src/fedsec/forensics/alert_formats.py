"""Where each alert format (ECS, Suricata EVE, flat fedsec lines) keeps the fields incidents
use: one dict of the same keys from any of them, read as values, typed by
:func:`fedsec.forensics.alerts.to_alert`."""

from __future__ import annotations

import hashlib
import json

from fedsec.core.errors import InputError
from fedsec.detect import attack as attack_levels
from fedsec.forensics.attack import Technique


def text_of(value: object) -> str | None:
    if value is None or value == "" or value == "-":
        return None
    return str(value)


def _list(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def nested(doc: dict, where: str) -> dict:
    """``doc`` with its dotted keys (``"source.ip"``, as SIEM exports write ECS) expanded into
    nested objects; a field given both ways with different values is refused."""
    out: dict = {k: v for k, v in doc.items() if "." not in k or k.startswith("@")}
    for key, value in doc.items():
        if "." not in key or key.startswith("@"):
            continue
        *parents, leaf = key.split(".")
        here = out
        for name in parents:
            here = here.setdefault(name, {})
            if not isinstance(here, dict):
                raise InputError(where, f"alert field {key!r} is inside {name!r}, not an object")
        if leaf in here and here[leaf] != value:
            raise InputError(where, f"alert field {key!r} is given twice, with two values")
        here[leaf] = value
    return out


def _ecs_time_source(doc: dict, event: dict) -> str | None:
    """``fedsec.time_source``; in alerts written before it, "detection" when ``@timestamp`` is
    ``event.created`` (the run's time, which ``fedsec detect`` gives an alert without one)."""
    given = (doc.get("fedsec") or {}).get("time_source")
    if given is None and doc.get("@timestamp") is not None:
        return "detection" if doc["@timestamp"] == event.get("created") else None
    return given


def from_ecs(doc: dict) -> dict:
    """The fields of an ECS alert (nested objects) that incidents use."""
    fedsec = doc.get("fedsec") or {}
    threat = doc.get("threat") or {}
    technique = threat.get("technique") or {}
    ids, names = _list(technique.get("id")), _list(technique.get("name"))
    event = doc.get("event") or {}
    source, destination = doc.get("source") or {}, doc.get("destination") or {}
    org = (doc.get("organization") or {}).get("name")  # not observer.name: a sensor's host
    return {
        "time": doc.get("@timestamp"),
        "time_source": _ecs_time_source(doc, event),
        "org": org,
        "family": fedsec.get("family") or (doc.get("rule") or {}).get("name"),
        "source_ip": source.get("ip"),
        "destination_ip": destination.get("ip"),
        "source_address": source.get("address"),
        "destination_address": destination.get("address"),
        "address_fields": ("source.address", "destination.address"),
        "destination_port": destination.get("port"),
        "score": fedsec.get("score"),
        "risk": event.get("risk_score"),
        "event_id": event.get("id"),
        "techniques": [
            Technique(str(i), str(names[k]) if k < len(names) else "") for k, i in enumerate(ids)
        ],
        "tactics": [str(t) for t in _list((threat.get("tactic") or {}).get("name"))],
        "file": ((doc.get("log") or {}).get("file") or {}).get("path"),
        "row": fedsec.get("source_row"),
        "dataset_label": fedsec.get("dataset_label"),
    }


def from_eve(doc: dict) -> dict:
    """The same fields from a Suricata EVE ``alert`` event (``--alert-format eve``)."""
    fedsec = doc.get("fedsec") or {}
    metadata = (doc.get("alert") or {}).get("metadata") or {}
    ids, names = (
        _list(metadata.get("mitre_technique_id")),
        _list(metadata.get("mitre_technique_name")),
    )
    return {
        "time": doc.get("timestamp"),
        "time_source": fedsec.get("time_source"),
        "org": fedsec.get("organization"),
        "family": fedsec.get("family"),
        "source_ip": doc.get("src_ip"),
        "destination_ip": doc.get("dest_ip"),
        "source_address": fedsec.get("src_host"),
        "destination_address": fedsec.get("dest_host"),
        "address_fields": ("fedsec.src_host", "fedsec.dest_host"),
        "destination_port": doc.get("dest_port"),
        "score": fedsec.get("score"),
        "risk": fedsec.get("risk_score"),
        "event_id": fedsec.get("event_id"),
        "techniques": [
            Technique(str(i), str(names[k]) if k < len(names) else "") for k, i in enumerate(ids)
        ],
        "tactics": [str(t) for t in _list(metadata.get("mitre_tactic_name"))],
        "file": fedsec.get("file"),
        "row": fedsec.get("source_row"),
        "dataset_label": fedsec.get("dataset_label"),
    }


def from_flat(doc: dict) -> dict:
    """The same fields from a flat fedsec alert (``--alert-format fedsec`` and earlier)."""
    return {
        "time": doc.get("timestamp_utc", doc.get("timestamp", doc.get("ts"))),
        "time_source": None,
        "org": doc.get("org"),
        "family": doc.get("family"),
        "source_ip": None,  # the text as given: an IP address or a host name
        "destination_ip": None,
        "source_address": doc.get("src_ip"),
        "destination_address": doc.get("dst_ip"),
        "address_fields": ("src_ip", "dst_ip"),
        "destination_port": doc.get("dst_port"),
        "score": doc.get("score"),
        "risk": None,
        "event_id": flat_id(doc),
        "techniques": [],
        "tactics": [],
        "file": doc.get("source_file"),
        "row": doc.get("source_row"),
        "dataset_label": doc.get("dataset_label"),
    }


def flat_id(doc: dict) -> str:
    """A flat alert's id, which it does not carry: the first 128 bits (32 hex digits, as
    ``event.id``) of the SHA-256 of its content, keys sorted. The same alert read twice (the
    same file given twice, a copy, overlapping exports) has the same id; two alerts of one run
    never do (their ``row`` differs)."""
    content = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def unscored_risk(doc: dict, family: str, score: float) -> float:
    """The risk of an alert that carries none (a flat alert): as ``fedsec detect`` scores
    ECS and EVE alerts, the family's level times how sure the detector is. (It was 100 times
    the score: the same detections were critical as flat alerts and low as ECS ones.)"""
    threshold = doc.get("threshold")
    facts = {key: True for key in ("top_k", "score_kind") if key in doc}
    if isinstance(threshold, int | float) and not isinstance(threshold, bool):
        facts["threshold"] = float(threshold)
    return attack_levels.risk_score(
        family, attack_levels.confidence(facts | {"family": family, "score": score})
    )

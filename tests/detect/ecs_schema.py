"""Checks an alert document against the pinned ECS field definitions (``ecs_fields.json``) and
fedsec's custom fields: every key must be defined there, with a value of the field's type."""

from __future__ import annotations

import ipaddress
import re

from fedsec.detect.ecs import FEDSEC_FIELDS, ecs_schema

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def fields() -> dict[str, dict]:
    """Every field an alert may carry: name -> type, array, allowed values."""
    pinned = dict(ecs_schema()["fields"])
    custom = {name: {"type": kind, "array": False} for name, kind in FEDSEC_FIELDS.items()}
    return {**pinned, **custom}


def problems(document: dict) -> list[str]:
    """What in ``document`` is not in the schema, or not of its field's type (empty: valid)."""
    found: list[str] = []
    _walk(document, "", fields(), found)
    return found


def _walk(node: dict, prefix: str, known: dict[str, dict], found: list[str]) -> None:
    for key, value in node.items():
        name = prefix + key
        if name in known:
            _check(name, value, known[name], known, found)
        elif isinstance(value, dict):
            _walk(value, name + ".", known, found)
        else:
            found.append(f"{name}: not a field of the schema")


def _check(name: str, value: object, spec: dict, known: dict, found: list[str]) -> None:
    if value is None:  # null: Elasticsearch indexes no value (the hunt's baseline_family)
        return
    kind = spec["type"]
    if kind == "nested":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            found.append(f"{name}: nested, expects a list of objects, got {value!r}")
            return
        for item in value:
            _walk(item, name + ".", known, found)
        return
    if spec["array"]:
        if not isinstance(value, list):
            found.append(f"{name}: an array field, got {value!r}")
            return
        values = value
    else:
        if isinstance(value, list):
            found.append(f"{name}: a single value, got a list")
            return
        values = [value]
    for item in values:
        if not _typed(kind, item):
            found.append(f"{name}: {item!r} is not a {kind}")
        elif spec.get("allowed") and item not in spec["allowed"]:
            found.append(f"{name}: {item!r} is not an allowed value")


def _typed(kind: str, value: object) -> bool:
    if kind in ("keyword", "match_only_text", "text", "wildcard"):
        return isinstance(value, str)
    if kind == "long":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "scaled_float", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and bool(DATE.match(value))
    if kind == "ip":  # Elasticsearch's ip type refuses a zone index (fe80::1%eth0)
        if not isinstance(value, str) or "%" in value:
            return False
        try:
            ipaddress.ip_address(value)
        except (ValueError, TypeError):
            return False
        return True
    if kind == "flattened":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return False

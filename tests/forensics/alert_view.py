"""What the hunt tests read of an alert, in either layout ``fedsec detect`` writes: ECS (nested:
``log.file.path``, ``fedsec.source_row``, ``fedsec.family`` ...) or flat (``source_file`` ...)."""

from __future__ import annotations

from typing import Any

#: Where each field lives, first match wins: ECS path, then the flat layout's key.
FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "file": (("log", "file", "path"), ("source_file",)),
    "item": (("fedsec", "source_row"), ("source_row",)),
    "family": (("fedsec", "family"), ("family",)),
    "score": (("fedsec", "score"), ("score",)),
}


def field_value(record: dict, name: str) -> Any:
    """The first of the field's places that the alert holds (None: none does)."""
    for path in FIELDS[name]:
        value: Any = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None

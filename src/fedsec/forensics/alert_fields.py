"""The fields a retro-hunt reads from an alert, in either layout ``fedsec detect`` writes: ECS
(nested: ``log.file.path``, ``fedsec.source_row``, ``fedsec.family`` ...) or the flat fedsec
layout (``source_file``, ``source_row``, ``family`` ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Where each field lives, first match wins: ECS path, then the flat layout's key.
FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "file": (("log", "file", "path"), ("source_file",)),
    "item": (("fedsec", "source_row"), ("source_row",), ("fedsec", "session"), ("session",)),
    "family": (("fedsec", "family"), ("family",)),
    "score": (("fedsec", "score"), ("score",)),
    "label": (("fedsec", "dataset_label"), ("dataset_label",)),
}


@dataclass(frozen=True)
class AlertFields:
    """What identifies an alert's row (its file and data row, or session) and what it says."""

    file: str
    item: str
    family: str
    score: float | None
    label: str | None  # the input's own label of the row, when the input is labeled

    @property
    def key(self) -> tuple[str, str]:
        return self.file, self.item


def lookup(record: dict, path: tuple[str, ...]) -> Any:
    """``record[path[0]][path[1]]...``, or None where the path is absent."""
    value: Any = record
    for name in path:
        if not isinstance(value, dict) or name not in value:
            return None
        value = value[name]
    return value


def field_value(record: dict, name: str) -> Any:
    """The first of the field's places that the alert holds (None: none does)."""
    for path in FIELDS[name]:
        value = lookup(record, path)
        if value is not None:
            return value
    return None


def alert_fields(record: dict, where: str) -> AlertFields:
    """The hunt's view of one alert; ``where`` (file and line) names a malformed one."""
    file, item = field_value(record, "file"), field_value(record, "item")
    if file is None or item is None:
        raise ValueError(f"{where}: alert names no source file and row (or session)")
    family = field_value(record, "family")
    score = field_value(record, "score")
    label = field_value(record, "label")
    return AlertFields(
        file=str(file),
        item=str(item),
        family=str(family) if family is not None else "anomaly",
        score=float(score) if isinstance(score, int | float) else None,
        label=str(label) if label is not None else None,
    )


def annotate(record: dict, note: dict) -> dict:
    """``record`` with the hunt's ``note``: under ``fedsec.hunt`` in an ECS alert, else under a
    top-level ``hunt`` key."""
    if isinstance(record.get("fedsec"), dict):
        return {**record, "fedsec": {**record["fedsec"], "hunt": note}}
    return {**record, "hunt": note}

"""The hunt's note on an alert, in either layout ``fedsec detect`` writes: ECS (nested under
``fedsec``) or the flat fedsec layout (top level)."""

from __future__ import annotations


def annotate(record: dict, note: dict) -> dict:
    """``record`` with the hunt's ``note``: under ``fedsec.hunt`` in an ECS alert, else under a
    top-level ``hunt`` key."""
    if isinstance(record.get("fedsec"), dict):
        return {**record, "fedsec": {**record["fedsec"], "hunt": note}}
    return {**record, "hunt": note}

"""The alert formats of ``fedsec detect --alert-format``: ECS documents (the default), Suricata
EVE ``alert`` events, or fedsec's flat records (the format before ECS, kept for scripts that
read it)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fedsec.detect.ecs import AlertSource, ecs_document
from fedsec.detect.eve import eve_document
from fedsec.detect.records import alert_lines

ALERT_FORMATS: tuple[str, ...] = ("ecs", "eve", "fedsec")


@dataclass(frozen=True)
class AlertFormat:
    """How a run writes its alert records (``source``: what the ECS and EVE formats name)."""

    name: str = "fedsec"
    source: AlertSource | None = None

    def __post_init__(self) -> None:
        if self.name not in ALERT_FORMATS:
            raise ValueError(f"unknown alert format {self.name!r}; one of {ALERT_FORMATS}")
        if self.name != "fedsec" and self.source is None:
            raise ValueError(f"the {self.name} alert format needs the alerts' source")

    @property
    def explain(self) -> bool:
        """Whether detectors add what the typed formats carry (reasons, the threshold, the
        transport); the flat format stays as it was."""
        return self.name != "fedsec"

    def lines(self, records: list[dict]) -> bytes:
        """The records as JSON Lines in this format."""
        if self.name == "fedsec":
            return alert_lines(records)
        documents = [ecs_document(r, self.source) for r in records]
        if self.name == "eve":
            documents = [eve_document(d) for d in documents]
        return "".join(json.dumps(d) + "\n" for d in documents).encode("utf-8")


FLAT = AlertFormat()

"""The alert formats of ``fedsec detect --alert-format``: ECS documents (the default), Suricata
EVE ``alert`` events, or fedsec's flat records (the format before ECS, kept for scripts that
read it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import BinaryIO

from fedsec.detect.alert_times import refuse_unreadable_record, refuse_unreadable_time
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.ecs import AlertSource, ecs_document, ecs_line
from fedsec.detect.ecs_text import ecs_lines, eve_lines
from fedsec.detect.eve import eve_document
from fedsec.detect.flat_text import flat_lines, flow_times, utc_records
from fedsec.detect.records import alert_lines

ALERT_FORMATS: tuple[str, ...] = ("ecs", "eve", "fedsec")
#: Alerts turned into text and written at a time.
BATCH = 4096


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

    @property
    def naive_zone(self) -> tzinfo:
        """The zone of input times written without one."""
        return UTC if self.source is None else self.source.naive_zone

    def lines(self, records: list[dict] | FlowAlerts) -> bytes:
        """The records (or a chunk's flow alerts) as JSON Lines in this format."""
        if isinstance(records, FlowAlerts):
            return self._flow_lines(records)
        if self.name == "fedsec":
            for record in records:  # the typed formats refuse it as they date the alert
                refuse_unreadable_record(record)
            return alert_lines(utc_records(records, self.naive_zone))
        if self.name == "ecs":
            return "".join([ecs_line(r, self.source) + "\n" for r in records]).encode("utf-8")
        return "".join(self._eve_line(r) for r in records).encode("utf-8")

    def _flow_lines(self, alerts: FlowAlerts) -> bytes:
        """Flow alerts written from their columns, when every field is one the column-wise
        text writes (else as records)."""
        if not alerts.regular:  # refused naming the file's columns, as records cannot
            refuse_unreadable_time(alerts.table, alerts.rows)
            return self.lines(alerts.records())
        if self.name == "fedsec":
            if alerts.explanation is not None:
                return self.lines(alerts.records())
            read = flow_times(alerts, self.naive_zone)  # read once, for both
            refuse_unreadable_time(alerts.table, alerts.rows, read)
            return flat_lines(alerts, self.naive_zone, read)
        if self.name == "ecs":
            return ecs_lines(alerts, self.source)
        return eve_lines(alerts, self.source)

    def write(self, sink: BinaryIO, records: list[dict] | FlowAlerts) -> None:
        """The records to ``sink``, a batch at a time (memory: a batch's text, not a chunk's)."""
        for start in range(0, len(records), BATCH):
            sink.write(self.lines(records[start : start + BATCH]))

    def _eve_line(self, record: dict) -> str:
        """One document at a time: only its text is kept, not the chunk's documents."""
        return json.dumps(eve_document(ecs_document(record, self.source))) + "\n"


FLAT = AlertFormat()

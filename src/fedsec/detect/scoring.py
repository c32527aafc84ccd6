"""What every flow detector's chunk scorer shares: the input checked on its first chunk, alert
lines in the run's format, and the summary added up as chunks go by."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedsec.data.flows import FlowTable
from fedsec.detect.formats import AlertFormat
from fedsec.detect.records import DetectionSummary, check_columns, check_format


class ChunkScorer:
    """Tables in, alert lines out, chunk after chunk, the summary added up as it goes: what
    ``fedsec detect`` does to a file, and ``--follow`` to each batch of a growing one.
    Subclasses score a chunk into alert records (``records``) and keep the ``tally``."""

    tally: Any  # the detector's running summary: ``rows`` scored so far and ``summary()``

    def __init__(
        self, model: Any, manifest: dict, fmt: str, inputs: Sequence[Path], alerts: AlertFormat
    ) -> None:
        self.model, self.manifest, self.fmt, self.inputs = model, manifest, fmt, inputs
        self.alerts = alerts

    def __call__(self, table: FlowTable) -> bytes:
        if self.tally.rows == 0:
            check_format(self.model.view, self.manifest, self.fmt, self.inputs)
            check_columns(self.model, table, self.inputs)
        return self.alerts.lines(self.records(table))

    def records(self, table: FlowTable) -> list[dict]:
        raise NotImplementedError

    def summary(self) -> DetectionSummary:
        return self.tally.summary()

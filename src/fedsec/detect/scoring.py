"""What every flow detector's chunk scorer shares: the input checked on its first chunk, alert
lines in the run's format, and the summary added up as chunks go by."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedsec.core import atomic
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.data.readers.chunks import CHUNK_ROWS, read_chunks
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


def score_files(
    score: ChunkScorer,
    fmt: str,
    inputs: Sequence[Path],
    out: Path,
    mapping: Mapping | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> DetectionSummary:
    """The input scored chunk by chunk and each chunk's alerts written as they come
    (atomically: the file appears complete, or not at all)."""
    with atomic.stream(out) as sink:
        for table in read_chunks(fmt, list(inputs), mapping, chunk_rows):
            sink.write(score(table))
    return score.summary()

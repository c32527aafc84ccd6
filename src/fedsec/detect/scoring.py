"""What every flow detector's chunk scorer shares: the input checked on its first chunk, alert
lines in the run's format, and the summary added up as chunks go by."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fedsec.core import atomic
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.data.readers.ahead import read_ahead
from fedsec.data.readers.chunks import CHUNK_ROWS, read_chunks
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.formats import AlertFormat
from fedsec.detect.records import DetectionSummary, check_columns, check_format
from fedsec.detect.threads import available_cores


class ChunkScorer:
    """Tables in, alert lines out, chunk after chunk, the summary added up as it goes: what
    ``fedsec detect`` does to a file, and ``--follow`` to each batch of a growing one.
    Subclasses score a chunk into alerts (``records``) and keep the ``tally``."""

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

    def records(self, table: FlowTable) -> list[dict] | FlowAlerts:
        """The chunk's alerts: records (one dict each) or, for flow models, columns."""
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
    ahead: bool | None = None,
) -> DetectionSummary:
    """The input scored chunk by chunk and each chunk's alerts written as they come
    (atomically: the file appears complete, or not at all). ``ahead``: the next chunk read in
    a thread while this one is scored (default: when this process may use two cores or more;
    the alerts are the same either way)."""
    chunks: Iterator[FlowTable] = read_chunks(fmt, list(inputs), mapping, chunk_rows)
    if ahead if ahead is not None else available_cores() >= 2:
        chunks = read_ahead(chunks)
    with atomic.stream(out) as sink, contextlib.closing(chunks):
        for table in chunks:
            sink.write(score(table))
    return score.summary()

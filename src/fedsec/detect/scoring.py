"""What every flow detector's chunk scorer shares: the input checked on its first chunk, alert
lines in the run's format, and the summary added up as chunks go by; and a file scored chunk
by chunk, several chunks at once in threads when the process may use several cores."""

from __future__ import annotations

import contextlib
import copy
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from fedsec.core import standard_streams
from fedsec.core.ordered import ordered_map
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.data.readers.ahead import read_ahead
from fedsec.data.readers.chunks import CHUNK_ROWS, RowGroup, parquet_row_groups, read_chunks
from fedsec.detect.alert_endpoints import bad_endpoint_rows
from fedsec.detect.alert_times import refuse_unreadable_time, unreadable_times
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.context_arrays import times
from fedsec.detect.drift import Sample, UnitDrift
from fedsec.detect.formats import AlertFormat
from fedsec.detect.out_of_range import OutOfRange
from fedsec.detect.records import DetectionSummary, absent_features, check_columns, check_format
from fedsec.detect.row_groups import can_fork, dealt, score_row_groups
from fedsec.detect.threads import available_cores, scoring_workers


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk's alert lines, and what the summary counts of it: the chunk and its ``flagged``
    (the detector's per-row decisions or flagged rows, as its tally takes them), and its
    features' sample for the unit check (:mod:`fedsec.detect.drift`)."""

    table: FlowTable
    lines: bytes
    flagged: np.ndarray
    beyond: OutOfRange | None = None  # its rows with an input at the clip (classifiers)
    sample: Sample | None = None


def unknown_labels_notice(unknown: Counter[str]) -> str:
    """What the analyst is told of labels no family map or built-in table knows."""
    shown = ", ".join(f"{label!r} ({count:,})" for label, count in unknown.most_common(5))
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return (
        f"{sum(unknown.values()):,} row(s) carry a label no family map or built-in table knows, "
        f"counted as family 'other' (an attack): {shown}{more}"
    )


class ChunkScorer:
    """Tables in, alert lines out, chunk after chunk, the summary added up as it goes: what
    ``fedsec detect`` does to a file, and ``--follow`` to each batch of a growing one.
    Subclasses score a chunk into alerts (``records``) and keep the ``tally``. ``score`` only
    reads the model, so chunks may be scored in several threads at once; ``count`` adds them
    to the summary, in the input's order."""

    tally: Any  # the detector's running summary: ``rows`` counted so far, ``add``, ``summary()``

    def __init__(
        self, model: Any, manifest: dict, fmt: str, inputs: Sequence[Path], alerts: AlertFormat
    ) -> None:
        self.model, self.manifest, self.fmt, self.inputs = model, manifest, fmt, inputs
        self.alerts = alerts
        self.notices: list[str] = []  # what the analyst must know of the input
        self.drift = UnitDrift(model.preprocessor)  # features far from their training values
        self.unknown: Counter[str] = Counter()  # labels no family map or table knows

    def __call__(self, table: FlowTable) -> bytes:
        """The next chunk's alert lines, the input checked while no row has been counted."""
        self.check(table)
        return self.count(self.score(table, self.tally.rows))

    def applied_threshold(self) -> float | None:
        """The score above which a row is flagged (None: the model's arg-max decides)."""
        return None

    def restamp(self, created: str) -> None:
        """Date the next alerts ``created`` (``event.created``; ``@timestamp`` of a row without
        a time of its own): a service's alerts when their batch is scored, not when it began."""
        source = self.alerts.source
        if source is not None:
            self.alerts = replace(self.alerts, source=replace(source, created=created))

    def check(self, table: FlowTable) -> None:
        """The input's format and columns checked, while no row has been counted."""
        if self.tally.rows == 0:
            check_format(self.model.view, self.manifest, self.fmt, self.inputs)
            check_columns(self.model, table, self.inputs)
            absent = absent_features(self.model, table) if len(table) else None  # a header only
            if absent is not None and absent not in self.notices:
                self.notices.append(absent)

    def refuse_unreadable_times(self, table: FlowTable) -> None:
        """An InputError for a row of ``table`` this scorer flags whose time, address or port
        is given but is not one (its alert would be refused as written): ``--rejects`` sets its
        line aside before scoring. Only the rows of such values are scored here."""
        suspects = bad_endpoint_rows(table)
        if "timestamp" in table.context.columns:
            column = table.context["timestamp"]
            suspects = np.union1d(suspects, unreadable_times(column, times(column, UTC)))
        if not len(suspects):
            return
        part = table.take(suspects)
        self.check(part)
        flagged, _ = self.alerted(ScoredChunk(part, b"", self.records(part, 0)[1]))
        refuse_unreadable_time(part, flagged)

    def score(self, table: FlowTable, offset: int) -> ScoredChunk:
        """The chunk's alert lines (``offset``: rows of the input before it); changes nothing."""
        alerts, flagged = self.records(table, offset)
        return ScoredChunk(table, self.alerts.lines(alerts), flagged, sample=self.sample(table))

    def sample(self, table: FlowTable) -> Sample:
        """The chunk's features' sample for the unit check."""
        return self.drift.sample(table.features(self.model.view).frame)

    def count(self, scored: ScoredChunk) -> bytes:
        """``scored`` added to the summary (chunks in the input's order); its lines."""
        self.tally.add(scored.table, scored.flagged)
        self.unknown.update(scored.table.unknown_labels)
        if scored.sample is not None:
            self.drift.add(scored.sample)
        return scored.lines

    def counters(self) -> tuple[Any, UnitDrift, Counter[str]]:
        """What the summary is added up from: the tally, the unit check's sums and the
        unknown labels."""
        return self.tally, self.drift, self.unknown

    def restart_counting(self, empty: tuple[Any, UnitDrift, Counter[str]]) -> None:
        """Count from ``empty`` (copied) on: a row group scored in a process of its own."""
        self.tally, self.drift, self.unknown = copy.deepcopy(empty)

    def absorb(self, counted: tuple[Any, UnitDrift, Counter[str]]) -> None:
        """Another process's counters, of the rows after these, added to these."""
        self.tally.absorb(counted[0])
        self.drift.absorb(counted[1])
        self.unknown.update(counted[2])

    def records(self, table: FlowTable, offset: int) -> tuple[list[dict] | FlowAlerts, np.ndarray]:
        """The chunk's alerts (records, one dict each, or for flow models columns) and what
        the tally counts of it."""
        raise NotImplementedError

    def alerted(self, scored: ScoredChunk) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the chunk (0-based) that have an alert and the family each names, in
        the order of the chunk's alert lines."""
        raise NotImplementedError

    def summary(self) -> DetectionSummary:
        summary = self.tally.summary()
        summary.notices += self.notices
        if self.unknown:
            summary.notices.append(unknown_labels_notice(self.unknown))
        summary.shifts = self.drift.shifts()
        return summary


class ScorersTogether:
    """Several chunk scorers over one read of the input: each chunk scored by each of them,
    their lines in their order (what ``fedsec hunt`` runs for its two models). ``seen`` is
    told each chunk's scored parts (one per scorer) once, in the input's order."""

    def __init__(
        self,
        scorers: Sequence[ChunkScorer],
        seen: Callable[[tuple[ScoredChunk, ...]], None] | None = None,
    ) -> None:
        self.scorers, self.seen = list(scorers), seen

    @property
    def tally(self) -> Any:
        """The first scorer's: every scorer has counted the same rows."""
        return self.scorers[0].tally

    def __call__(self, table: FlowTable) -> tuple[bytes, ...]:
        for scorer in self.scorers:
            scorer.check(table)
        return self.count(self.score(table, self.tally.rows))

    def score(self, table: FlowTable, offset: int) -> tuple[ScoredChunk, ...]:
        return tuple(scorer.score(table, offset) for scorer in self.scorers)

    def count(self, scored: tuple[ScoredChunk, ...]) -> tuple[bytes, ...]:
        if self.seen is not None:
            self.seen(scored)
        return tuple(s.count(chunk) for s, chunk in zip(self.scorers, scored, strict=True))


def score_files(
    score: ChunkScorer,
    fmt: str,
    inputs: Sequence[Path],
    out: Path,
    mapping: Mapping | None = None,
    chunk_rows: int = CHUNK_ROWS,
    ahead: bool | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DetectionSummary:
    """The input scored chunk by chunk and each chunk's alerts written as they come, in the
    input's order (atomically: the file appears complete, or not at all). ``ahead``: the next
    chunk read in a thread while this one is scored (default: when this process may use two
    cores or more); ``workers``: chunks scored at once (default: :func:`scoring_workers`).
    The alerts are the same either way. ``progress(rows, alerts)``: told the rows scored and
    the alerts written so far after each chunk is written. A CSV of a header only (a quiet
    hour) has its header checked and no alerts, and is noted."""
    together = ScorersTogether([score])
    score_files_together(
        together,
        fmt,
        inputs,
        [out],
        mapping,
        chunk_rows,
        ahead,
        workers,
        progress,
        header_only=True,
    )
    return score.summary()


def score_files_together(
    together: ScorersTogether,
    fmt: str,
    inputs: Sequence[Path],
    outs: Sequence[Path],
    mapping: Mapping | None = None,
    chunk_rows: int = CHUNK_ROWS,
    ahead: bool | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    header_only: bool = False,
) -> None:
    """:func:`score_files` with several scorers over one read of the input, each scorer's
    alerts into its file of ``outs`` (each appears complete or not at all; a failure while
    scoring leaves none). ``progress(rows, alerts)``: the first scorer's. A Parquet input of
    several row groups is scored by processes, a row group each in turn
    (:mod:`fedsec.detect.row_groups`), when several chunks may be scored at once; the alerts
    and the summary are the same. ``header_only``: a CSV of a header only is checked and noted
    (:func:`~fedsec.data.readers.chunks.read_chunks`), not skipped nor refused."""
    count = scoring_workers(workers)
    plan = _in_processes(together, fmt, inputs, mapping, count)
    if plan is not None:
        groups, owned = plan
        with contextlib.ExitStack() as stack:
            sinks = [stack.enter_context(standard_streams.stream(out)) for out in outs]
            beside = _scratch_folder(outs[0])
            score_row_groups(together, fmt, groups, sinks, owned, chunk_rows, beside, progress)
        return
    skipped: list[Path] = []
    headers: list[Path] | None = [] if header_only else None
    chunks = read_chunks(fmt, list(inputs), mapping, chunk_rows, skipped, headers)
    score_chunks(together, chunks, outs, ahead, count, progress)
    for scorer in together.scorers:
        scorer.notices.extend(empty_notes(headers or [], skipped))


def empty_notes(header_only: Sequence[Path], skipped: Sequence[Path]) -> list[str]:
    """The notes for the inputs holding a header and no rows (a quiet hour: no alerts, exit 0)
    and for those of several holding nothing, skipped."""
    notes = [
        f"{path}: the file held no rows (a header only), nothing to score" for path in header_only
    ]
    if skipped:
        names = ", ".join(str(path) for path in skipped)
        notes.append(f"{len(skipped)} input file(s) held no rows, skipped: {names}")
    return notes


def score_chunks(
    together: ScorersTogether,
    chunks: Iterator[FlowTable],
    outs: Sequence[Path],
    ahead: bool | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """``chunks`` (read ahead in a thread with ``ahead``, by default when two cores are free)
    scored by ``workers`` threads, each scorer's alerts into its file of ``outs`` in the
    chunks' order (atomically, or to standard output for ``-``)."""
    if ahead if ahead is not None else available_cores() >= 2:
        chunks = read_ahead(chunks)
    with contextlib.ExitStack() as stack:
        sinks = [stack.enter_context(standard_streams.stream(out)) for out in outs]
        stack.enter_context(contextlib.closing(chunks))
        for lines in scored_lines(together, chunks, workers):
            for sink, text in zip(sinks, lines, strict=True):
                sink.write(text)
            if progress is not None:
                so_far = together.scorers[0].summary()
                progress(so_far.rows, so_far.alerts)


def _scratch_folder(out: Path) -> Path:
    """Where row groups scored ahead of their turn wait: beside the output file (the same
    disk), or in the temporary folder when the output is standard output."""
    return Path(tempfile.gettempdir()) if standard_streams.is_standard_output(out) else out.parent


def _in_processes(
    together: ScorersTogether,
    fmt: str,
    inputs: Sequence[Path],
    mapping: Mapping | None,
    workers: int,
) -> tuple[list[RowGroup], list[list[int]]] | None:
    """The inputs' row groups and those each process scores, when processes are to score
    them: several chunks may be scored at once, the inputs are Parquet files whose row groups
    share out among ``workers`` processes evenly enough (:func:`dealt`), nothing watches each
    chunk as it is scored (``seen``); else None."""
    if workers < 2 or together.seen is not None or not can_fork():
        return None
    groups = parquet_row_groups(fmt, list(inputs), mapping)
    if groups is None or len(groups) < 2:
        return None
    owned = dealt(groups, min(workers, len(groups)))
    return None if owned is None else (groups, owned)


def scored_lines(
    score: ScorersTogether, chunks: Iterable[FlowTable], workers: int
) -> Iterator[tuple[bytes, ...]]:
    """Each chunk's alert lines (one text per scorer) in the chunks' order: in this thread
    until a chunk with rows has passed the input's checks, then, with ``workers`` > 1, that
    many chunks at once."""
    chunks = iter(chunks)
    for table in chunks:
        yield score(table)
        if workers > 1 and score.tally.rows:
            yield from _in_threads(score, chunks, workers)
            return


def _in_threads(
    score: ScorersTogether, chunks: Iterator[FlowTable], workers: int
) -> Iterator[tuple[bytes, ...]]:
    """The chunks scored by ``workers`` threads, each counted and yielded in order; at most
    ``workers`` chunks are in hand at once (memory: each costs some 40-100 MiB while scored).
    An error is raised where its chunk comes, as one thread would: a chunk's before a later
    chunk's read error."""
    located = _with_offsets(chunks, score.tally.rows)
    for scored in ordered_map(lambda pair: score.score(*pair), located, workers, "fedsec-score"):
        yield score.count(scored)


def _with_offsets(chunks: Iterable[FlowTable], offset: int) -> Iterator[tuple[FlowTable, int]]:
    """Each chunk with the rows scored before it."""
    for table in chunks:
        yield table, offset
        offset += len(table)

"""``fedsec detect --follow``: score a growing text file (a Zeek log, a flow CSV, JSON lines) as
it grows, with bounded latency and memory; ``--input -`` (or a named pipe): score a pipe as its
lines come, until it ends (:mod:`fedsec.detect.tails` reads both).

The file is read from its start, then polled: each poll takes the new *complete* lines (at most
:attr:`FollowOptions.batch_bytes` at a time; a line still being written waits for its newline),
hands them with the file's header to the format's own reader (so a batch is checked and read
exactly as the whole file would be) and writes the batch's alerts at once, flushed. Latency is
bounded by the poll interval plus the time to score one batch; memory by one batch.

Rotation (the path now names a new file: ``mv`` + create, as logrotate and Zeek do) is followed:
the old file is read to its end, then the new one from its start. Truncation (``copytruncate``)
restarts at the start of the file. Rows keep their data row in the file they were read from
(``source_row``; after a rotation or truncation it counts from 1 again).

:func:`stop_on_signals` turns SIGINT/SIGTERM into a stop: the batch in hand is scored and its
alerts written, then the run ends cleanly with its summary.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fedsec.core.atomic import Sink
from fedsec.core.errors import EmptyInput, InputError
from fedsec.core.standard_streams import (
    described_input,
    is_pipe,
    is_standard_output,
    standard_output_sink,
)
from fedsec.data.flow_times import iso_utc
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.detect import follow_state
from fedsec.detect.alerts_file import AlertsFile, reopened_on_hangup
from fedsec.detect.batch_reading import Rejects, batch_tables, header_tables
from fedsec.detect.follow_state import Position
from fedsec.detect.records import DetectionSummary
from fedsec.detect.scoring import ChunkScorer, ScorersTogether, score_chunks
from fedsec.detect.tails import BATCH_BYTES, FollowStats, PipeTail, Tail, tail_of
from fedsec.detect.threads import scoring_workers

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class FollowOptions:
    """How often to look for new lines, the most bytes scored in one batch, where the reading
    position is kept after each batch (a restart resumes there), and where lines the format's
    reader refuses are set aside (else one ends the run)."""

    poll: float = POLL_SECONDS
    batch_bytes: int = BATCH_BYTES
    state: Path | None = None  # where the reading position is kept (--state)
    rejects: Path | None = None  # where refused lines are set aside (--rejects)


def follow(
    path: Path,
    fmt: str,
    score: ChunkScorer,
    sink: Sink,
    stop: threading.Event,
    options: FollowOptions = FollowOptions(),
    mapping: Mapping | None = None,
    after_batch: Callable[[Tail], None] | None = None,
    kept: Position | None = None,
) -> FollowStats:
    """Score ``path`` as it grows (a pipe: as it comes, until it ends), writing each batch's
    alerts to ``sink`` (flushed), until ``stop`` is set (the batch in hand is finished first).
    ``after_batch(tail)``: called after each batch; ``kept``: where to resume."""
    tail = tail_of(path, fmt, options.batch_bytes)
    if kept is not None:
        tail.resume_at(kept)
    rejects = None
    if options.rejects is not None:  # a resumed run appends to its own rejects file
        rejects = Rejects(options.rejects, append=kept is not None)
    with tempfile.TemporaryDirectory(prefix="fedsec-follow-") as scratch:
        staging = Path(scratch) / f"batch{_suffix(path)}"
        try:
            while not stop.is_set():
                batch = tail.poll()
                if batch is None:
                    if tail.ended:
                        break
                    tail.wait(stop, options.poll)
                    continue
                score.restamp(_now())
                check = score.refuse_unreadable_times if rejects is not None else None
                for table in batch_tables(batch, staging, path, fmt, mapping, rejects, check):
                    sink.write(score(table))
                sink.flush()
                tail.stats.batches += 1
                if after_batch is not None:
                    after_batch(tail)
        finally:
            tail.close()
            if rejects is not None:
                rejects.close()
                tail.stats.set_aside = rejects.count
    return tail.stats


def _now() -> str:
    return iso_utc(datetime.now(UTC))


def _suffix(path: Path) -> str:
    return "".join(s for s in path.suffixes[-1:] if s not in (".gz", ".bz2", ".xz", ".zip"))


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (the old handlers restored)."""
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in signals}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_until_end(
    path: Path,
    fmt: str,
    out: Path,
    score: ChunkScorer,
    options: FollowOptions = FollowOptions(),
    mapping: Mapping | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DetectionSummary:
    """A pipe (``path``: ``-`` for standard input, or a named pipe) scored batch by batch as it
    comes, until it ends, the next batch read while this one is scored by ``workers`` threads
    (default: :func:`~fedsec.detect.threads.scoring_workers`): the alerts into ``out``
    atomically (the file appears complete, or not at all), or to standard output as they
    come. ``progress(rows, alerts)``: after each batch."""
    rejects = Rejects(options.rejects) if options.rejects is not None else None
    tail = tail_of(path, fmt, options.batch_bytes)
    tables = _piped_tables(tail, path, fmt, options, mapping, rejects, score)
    together = ScorersTogether([score])
    try:
        score_chunks(together, tables, [out], workers=scoring_workers(workers), progress=progress)
    finally:
        tail.close()  # a named pipe's, when no batch was asked for
        if rejects is not None:
            rejects.close()
    stats = FollowStats(set_aside=rejects.count if rejects is not None else 0)
    if isinstance(tail, PipeTail):  # what was read, hashed as it was read
        stats.piped = tail.read_record()
    return _summary(score.summary, stats, options.rejects)


def _piped_tables(
    tail: Tail,
    path: Path,
    fmt: str,
    options: FollowOptions,
    mapping: Mapping | None,
    rejects: Rejects | None,
    score: ChunkScorer,
) -> Iterator[FlowTable]:
    """Each batch of the pipe (read by ``tail``), read by the format's reader, until the pipe
    ends; ``score`` told when each batch came (alerts of rows without a time are dated then),
    and with ``rejects`` asked which rows it would refuse to alert on."""
    check = score.refuse_unreadable_times if rejects is not None else None
    never = threading.Event()
    with tempfile.TemporaryDirectory(prefix="fedsec-pipe-") as scratch:
        staging = Path(scratch) / f"batch{_suffix(path)}"
        try:
            while not tail.ended:
                batch = tail.poll()
                if batch is None:
                    tail.wait(never, options.poll)
                    continue
                score.restamp(_now())
                yield from batch_tables(batch, staging, path, fmt, mapping, rejects, check)
            if not tail.rows:
                yield from _no_rows(tail, staging, path, fmt, mapping, score)
        finally:
            tail.close()


def _no_rows(
    tail: Tail, staging: Path, path: Path, fmt: str, mapping: Mapping | None, score: ChunkScorer
) -> list[FlowTable]:
    """A pipe that ended without a data row: its header only (a quiet hour) is checked and
    noted, as a file's is; nothing at all is refused, as an empty file is."""
    where = described_input(path)
    if not tail.header:
        raise EmptyInput(where, "file is empty")
    tables = header_tables(tail.header, staging, path, fmt, mapping)
    score.notices.append(f"{where}: the file held no rows (a header only), nothing to score")
    return tables


#: What is left of the alerts file when the system refuses a write (written batch by batch).
FOLLOW_KEPT = "the alerts written before it stay, the last perhaps cut short"


def run_follow(
    path: Path,
    fmt: str,
    out: Path,
    score: ChunkScorer,
    summary: Callable[[], DetectionSummary],
    stop: threading.Event,
    options: FollowOptions = FollowOptions(),
    mapping: Mapping | None = None,
) -> DetectionSummary:
    """:func:`follow` into the alerts file ``out`` (lines appear batch by batch), or to
    standard output for ``-``: created new, or, with a position kept in ``options.state``,
    appended to from there (:mod:`fedsec.detect.follow_state`)."""
    kept = _kept_position(path, out, options.state)
    if is_standard_output(out):
        sink = standard_output_sink()
        keep = _keeper(options.state, path, out, sink, None)
        stats = follow(path, fmt, score, sink, stop, options, mapping, keep, kept)
        return _summary(summary, stats, options.rejects)
    alerts = AlertsFile(out, kept.alerts_bytes if kept is not None else None)
    with contextlib.closing(alerts), reopened_on_hangup(alerts):
        sink = Sink(alerts, out, kept=FOLLOW_KEPT)
        keep = _keeper(options.state, path, out, sink, alerts)
        stats = follow(path, fmt, score, sink, stop, options, mapping, keep, kept)
    result = _summary(summary, stats, options.rejects)
    if alerts.shorter:
        result.notices.append(
            f"{out} was shorter than when the position was kept (rotated or truncated since?): "
            "the alerts were appended to it; those of the last batch scored before the stop "
            "may be in it twice"
        )
    return result


def _kept_position(path: Path, out: Path, state: Path | None) -> Position | None:
    """The position kept in ``state`` for this file and alerts file (None: none yet)."""
    if state is None:
        return None
    if is_pipe(path):
        raise InputError(described_input(path), "a pipe cannot resume where it stopped: --state")
    kept = follow_state.load(state)
    if kept is not None:
        follow_state.check_matches(state, kept, path, out)
    return kept


def _keeper(
    state: Path | None, path: Path, out: Path, sink: Sink, alerts: AlertsFile | None
) -> Callable[[Tail], None] | None:
    """What keeps the position in ``state`` after each batch, once its alerts are on disk."""
    if state is None:
        return None

    def keep(tail: Tail) -> None:
        sink.flush()
        if alerts is not None:
            os.fsync(alerts.fileno())
        written = alerts.size() if alerts is not None else 0
        where = tail.where()
        position = Position(
            input=follow_state.absolute(path),
            out=follow_state.absolute(out),
            alerts_bytes=written,
            **where,
        )
        follow_state.save(state, position)

    return keep


def _summary(
    summary: Callable[[], DetectionSummary], stats: FollowStats, rejects: Path | None = None
) -> DetectionSummary:
    """The run's summary, saying where a kept position resumed and what was set aside."""
    result = summary()
    result.piped = stats.piped
    if stats.set_aside:
        result.notices.append(
            f"{stats.set_aside} line(s) refused (by the format's reader, or a flagged row's "
            f"unreadable time, address or port) were set aside in {rejects}"
        )
    if stats.resumed_at is not None:
        result.notices.append(f"resumed at byte {stats.resumed_at:,} of the followed file")
    for restart in stats.restarts:
        if restart.endswith("while stopped"):
            result.notices.append(f"the followed file was {restart}: read from its start")
    return result

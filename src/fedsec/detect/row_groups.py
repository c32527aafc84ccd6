"""A Parquet input scored by several processes, row group by row group: Python's lock keeps
``fedsec detect``'s threads at about 1.6 of two cores, while processes each reading their own
row groups share nothing but the model they were forked with (docs/detect.md, "Two processes
over a Parquet file's row groups").

The row groups are dealt to the processes by size, largest first to the least loaded (each
process then scores its own in the input's order, reading the next chunk ahead in a thread);
a process writes each group's alert lines to a file without a name beside the output, and sends
the group's counts and the file (its descriptor, over a Unix socket) to this process. This
process joins the groups' lines into the output and their counts into the summary in the
input's order, so the alerts and the summary are those of one thread, byte for byte. An error
is raised where its row group comes, as one thread would raise it. The processes are stopped
however the run ends, and the files, having no name, are freed by the system when the last
process holding one ends: a run killed outright (SIGKILL, the OOM killer) leaves none.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from multiprocessing import reduction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

from fedsec.core.atomic import Sink, why
from fedsec.core.errors import OutputError
from fedsec.data.readers.ahead import read_ahead
from fedsec.data.readers.chunks import RowGroup, row_group_chunks

#: Bytes copied at a time from a row group's lines into the output.
COPY_BYTES = 1 << 20
#: Row groups a process may score before this one has taken the first of them: bounds the disk
#: the lines waiting take, and the files in flight between the processes.
AHEAD = 16
#: A file system without ``O_TMPFILE`` says one of these.
NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL})
#: The most rows the busiest process may get, over an even share, for processes to be worth
#: it: with two processes and three equal row groups one gets 1.33x (two thirds of the rows),
#: and the run takes about as long as in threads (~1.6 of two cores).
UNEVEN_AT_MOST = 1.2


def dealt(groups: Sequence[RowGroup], processes: int) -> list[list[int]] | None:
    """The row groups (their indexes, in order) each process scores: largest first to the
    least loaded; None when the busiest would get more than ``UNEVEN_AT_MOST`` times an even
    share of the rows."""
    loads, owned = [0] * processes, [[] for _ in range(processes)]
    for index in sorted(range(len(groups)), key=lambda i: (-groups[i].rows, i)):
        least = loads.index(min(loads))
        owned[least].append(index)
        loads[least] += groups[index].rows
    if max(loads) * processes > UNEVEN_AT_MOST * sum(loads):
        return None
    return [sorted(mine) for mine in owned]


def can_fork() -> bool:
    """Whether scoring processes can start from this one as it stands (Linux: fork)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def score_row_groups(
    together: Any,
    fmt: str,
    groups: Sequence[RowGroup],
    sinks: Sequence[Sink],
    owned: list[list[int]],
    chunk_rows: int,
    beside: Path,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """``together`` (a :class:`~fedsec.detect.scoring.ScorersTogether`) over ``groups``, a
    process for each list of ``owned`` (:func:`dealt`), each scorer's lines into its sink and
    its counts into its tally, in the groups' order; the groups' lines wait in files without
    a name in ``beside`` (the output's folder), which the system frees however the run ends.
    ``progress(rows, alerts)``: the first scorer's, after each group."""
    blank = [copy.deepcopy(scorer.counters()) for scorer in together.scorers]
    context = multiprocessing.get_context("fork")
    children: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    owner = {index: k for k, mine in enumerate(owned) for index in mine}
    for stream in (sys.stdout, sys.stderr):  # a process flushes what it inherits on exit
        stream.flush()
    try:
        for k, mine in enumerate(owned):
            mine_end, its_end = context.Pipe(duplex=True)  # a socket: files travel on it
            child = context.Process(
                target=_score_groups,
                args=(together, fmt, groups, mine, blank, beside, chunk_rows, its_end),
                name=f"fedsec-score-{k}",
                daemon=True,
            )
            child.start()
            its_end.close()
            children.append((child, mine_end))
        for index in range(len(groups)):
            tallies, parts = _group_done(children[owner[index]], index, len(sinks))
            for sink, scorer, tally, part in zip(
                sinks, together.scorers, tallies, parts, strict=True
            ):
                _append(part, sink)
                scorer.absorb(tally)
            _taken(children[owner[index]])
            if progress is not None:
                so_far = together.scorers[0].summary()
                progress(so_far.rows, so_far.alerts)
    finally:
        _stop(children)


def _group_done(child: tuple[Any, Connection], index: int, count: int) -> tuple[list, list[int]]:
    """The tallies of row group ``index`` and its ``count`` files of lines (descriptors) from
    the process scoring it, or its error raised."""
    process, receive = child
    try:
        kind, payload = receive.recv()
        parts = [reduction.recv_handle(receive) for _ in range(count)] if kind == "done" else []
    except (EOFError, ConnectionError):
        raise RuntimeError(
            f"scoring process {process.name} ended (exit code {process.exitcode}) before "
            f"row group {index} was scored"
        ) from None
    if kind == "error":
        raise payload
    return payload, parts


def _taken(child: tuple[Any, Connection]) -> None:
    """Tell the process a group of its lines was taken: it may score one more ahead."""
    with contextlib.suppress(OSError):  # it ended after its last group
        child[1].send_bytes(b"")


def _append(part: int, sink: Sink) -> None:
    """A row group's lines (a file without a name, read from its start) into ``sink``; the
    file is freed when closed."""
    with os.fdopen(part, "rb") as lines:
        lines.seek(0)
        shutil.copyfileobj(lines, sink, COPY_BYTES)


def _stop(children: list[tuple[Any, Connection]]) -> None:
    for process, receive in children:
        if process.is_alive():
            process.terminate()
        process.join()
        receive.close()


def _score_groups(
    together: Any,
    fmt: str,
    groups: Sequence[RowGroup],
    mine: list[int],
    blank: list[Any],
    beside: Path,
    chunk_rows: int,
    send: Connection,
) -> None:
    """A scoring process: its row groups in turn, each one's lines to files without a name and
    then its tallies and the files (or the error that stopped it) to the process that started
    it, at most ``AHEAD`` groups before that process has taken them. It ends by ``os._exit``,
    touching none of what it inherited: a progress display's thread may have held the standard
    streams' locks when it was forked, and flushing them would wait forever."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (ended by os._exit)
    code, parent = 0, os.getppid()
    try:
        for sent, index in enumerate(mine):
            if sent >= AHEAD:
                send.recv_bytes()  # the group sent AHEAD groups ago was taken
            parts = _score_group(together, fmt, groups[index], blank, beside, chunk_rows)
            send.send(("done", [scorer.counters() for scorer in together.scorers]))
            for part in parts:
                reduction.send_handle(send, part.fileno(), parent)
                part.close()
    except BaseException as error:  # raised by the starting process, in the input's order
        code = 1
        with contextlib.suppress(OSError):
            send.send(("error", _portable(error)))
    finally:
        send.close()
        os._exit(code)


def _score_group(
    together: Any,
    fmt: str,
    group: RowGroup,
    blank: list[Any],
    beside: Path,
    chunk_rows: int,
) -> list[BinaryIO]:
    """One row group's chunks scored and counted from empty tallies (so each group's first
    chunk passes the input's checks, as the input's first chunk does): its files of lines,
    one per scorer."""
    for scorer, empty in zip(together.scorers, blank, strict=True):
        scorer.restart_counting(empty)
    parts = [_nameless_file(beside) for _ in together.scorers]
    try:
        with contextlib.closing(read_ahead(row_group_chunks(fmt, group, chunk_rows))) as chunks:
            offset = group.offset
            for table in chunks:
                for scorer in together.scorers:
                    scorer.check(table)
                lines = together.count(together.score(table, offset))
                for part, text in zip(parts, lines, strict=True):
                    _write(part, text, beside)
                offset += len(table)
    except BaseException:
        for part in parts:
            part.close()
        raise
    return parts


def _nameless_file(beside: Path) -> BinaryIO:
    """A file in ``beside`` that no name points to: the system frees it when the last process
    holding it closes it or ends, killed or not (``O_TMPFILE``; where the file system has none,
    a file removed as soon as created)."""
    try:
        try:
            descriptor = os.open(beside, os.O_TMPFILE | os.O_RDWR, 0o600)
        except OSError as error:
            if error.errno not in NO_TMPFILE:
                raise
            descriptor, name = tempfile.mkstemp(prefix=".fedsec-part-", dir=beside)
            os.unlink(name)
        return os.fdopen(descriptor, "w+b")
    except OSError as error:
        raise _no_room(beside, error) from None


def _write(file: BinaryIO, text: bytes, beside: Path) -> None:
    """``text`` written out (flushed: nothing is left for closing the file to write)."""
    try:
        file.write(text)
        file.flush()
    except OSError as error:
        raise _no_room(beside, error) from None


def _no_room(beside: Path, error: OSError) -> OutputError:
    """The error for lines that cannot wait in ``beside``, the output's folder (a full disk)."""
    return OutputError(
        f"{beside}: cannot hold the alerts of row groups scored ahead of their turn: "
        f"{why(error)} (nothing was written)"
    )


def _portable(error: BaseException) -> BaseException:
    """``error`` if it can travel between processes, else a RuntimeError saying what it was."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error} (in scoring process {os.getpid()})")
    return error

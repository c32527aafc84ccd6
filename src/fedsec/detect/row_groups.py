"""A Parquet input scored by several processes, row group by row group: Python's lock keeps
``fedsec detect``'s threads at about 1.6 of two cores, while processes each reading their own
row groups share nothing but the model they were forked with (docs/detect.md, "Two processes
over a Parquet file's row groups").

The row groups are dealt to the processes by size, largest first to the least loaded (each
process then scores its own in the input's order, reading the next chunk ahead in a thread);
a process writes each group's alert lines to a file of its own in a private folder beside the
output, and sends the group's counts to this process. This process joins the
groups' lines into the output and their counts into the summary in the input's order, so the
alerts and the summary are those of one thread, byte for byte. An error is raised where its
row group comes, as one thread would raise it; the processes are stopped and the folder
removed however the run ends.
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

from fedsec.core.atomic import Sink, why
from fedsec.core.errors import OutputError
from fedsec.data.readers.ahead import read_ahead
from fedsec.data.readers.chunks import RowGroup, row_group_chunks

#: Bytes copied at a time from a row group's lines into the output.
COPY_BYTES = 1 << 20
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
    its counts into its tally, in the groups' order; the groups' lines wait in a private
    folder in ``beside`` (the output's). ``progress(rows, alerts)``: the first scorer's,
    after each group."""
    blank = [copy.deepcopy(scorer.tally) for scorer in together.scorers]
    try:
        folder = Path(tempfile.mkdtemp(prefix=".fedsec-parts-", dir=beside))
    except OSError as error:
        raise _no_room(beside, error) from None
    context = multiprocessing.get_context("fork")
    children: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    owner = {index: k for k, mine in enumerate(owned) for index in mine}
    for stream in (sys.stdout, sys.stderr):  # a process flushes what it inherits on exit
        stream.flush()
    try:
        for k, mine in enumerate(owned):
            receive, send = context.Pipe(duplex=False)
            child = context.Process(
                target=_score_groups,
                args=(together, fmt, groups, mine, blank, folder, chunk_rows, send),
                name=f"fedsec-score-{k}",
                daemon=True,
            )
            child.start()
            send.close()
            children.append((child, receive))
        for index in range(len(groups)):
            tallies = _group_done(children[owner[index]], index)
            for part, (sink, scorer, tally) in enumerate(
                zip(sinks, together.scorers, tallies, strict=True)
            ):
                _append(_part_path(folder, index, part), sink)
                scorer.tally.absorb(tally)
            if progress is not None:
                so_far = together.scorers[0].summary()
                progress(so_far.rows, so_far.alerts)
    finally:
        _stop(children)
        shutil.rmtree(folder, ignore_errors=True)


def _group_done(child: tuple[Any, Connection], index: int) -> list[Any]:
    """The tallies of row group ``index`` from the process scoring it, or its error raised."""
    process, receive = child
    try:
        kind, payload = receive.recv()
    except EOFError:
        raise RuntimeError(
            f"scoring process {process.name} ended (exit code {process.exitcode}) before "
            f"row group {index} was scored"
        ) from None
    if kind == "error":
        raise payload
    return payload


def _append(path: Path, sink: Sink) -> None:
    with open(path, "rb") as part:
        shutil.copyfileobj(part, sink, COPY_BYTES)
    path.unlink()


def _stop(children: list[tuple[Any, Connection]]) -> None:
    for process, receive in children:
        if process.is_alive():
            process.terminate()
        process.join()
        receive.close()


def _part_path(folder: Path, group: int, scorer: int) -> Path:
    return folder / f"{group}-{scorer}.jsonl"


def _score_groups(
    together: Any,
    fmt: str,
    groups: Sequence[RowGroup],
    mine: list[int],
    blank: list[Any],
    folder: Path,
    chunk_rows: int,
    send: Connection,
) -> None:
    """A scoring process: its row groups in turn, each one's lines to its files and then its
    tallies (or the error that stopped it) to the process that started it. It ends by
    ``os._exit``, touching none of what it inherited: a progress display's thread may have
    held the standard streams' locks when it was forked, and flushing them would wait
    forever."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (ended by os._exit)
    code = 0
    try:
        for index in mine:
            _score_group(together, fmt, groups[index], blank, folder, index, chunk_rows)
            send.send(("done", [scorer.tally for scorer in together.scorers]))
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
    folder: Path,
    index: int,
    chunk_rows: int,
) -> None:
    """One row group's chunks scored and counted from empty tallies (so each group's first
    chunk passes the input's checks, as the input's first chunk does)."""
    for scorer, empty in zip(together.scorers, blank, strict=True):
        scorer.tally = copy.deepcopy(empty)
    with contextlib.ExitStack() as stack:
        files = _open_parts(stack, folder, index, len(together.scorers))
        chunks = stack.enter_context(
            contextlib.closing(read_ahead(row_group_chunks(fmt, group, chunk_rows)))
        )
        offset = group.offset
        for table in chunks:
            for scorer in together.scorers:
                scorer.check(table)
            lines = together.count(together.score(table, offset))
            for file, text in zip(files, lines, strict=True):
                _write(file, text, folder)
            offset += len(table)


def _open_parts(
    stack: contextlib.ExitStack, folder: Path, index: int, count: int
) -> list[BinaryIO]:
    """Row group ``index``'s files for ``count`` scorers' lines."""
    try:
        return [
            stack.enter_context(open(_part_path(folder, index, part), "wb"))
            for part in range(count)
        ]
    except OSError as error:
        raise _no_room(folder.parent, error) from None


def _write(file: BinaryIO, text: bytes, folder: Path) -> None:
    """``text`` written out (flushed: nothing is left for closing the file to write)."""
    try:
        file.write(text)
        file.flush()
    except OSError as error:
        raise _no_room(folder.parent, error) from None


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

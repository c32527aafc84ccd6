"""A batch of a followed file's or a pipe's lines, read by the format's own reader (so it is
checked and read as the whole file would be), each row pointing at its line.

A refused batch ends the run, unless a rejects file is given (``--rejects``): then the batch
is halved until each refused part is a single line, which is set aside there (JSON lines: the
source, the data row, the reader's words, the line) while every other line is scored; so is a
line whose row would be flagged but whose time, address or port is not one (its alert would
be refused). A service following a file must not stop at one malformed line, nor, with
``--state``, stop at it again on every restart. The rejects file is never written through a
symlink; a run resuming a kept position appends to it, any other run empties it first. A batch
with more than ``REFUSED_PER_BATCH`` refused lines is no poison line but a stream that does not
fit the format: it still ends the run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from fedsec.core.appending import open_appending
from fedsec.core.atomic import unwritable
from fedsec.core.errors import InputError
from fedsec.core.standard_streams import described_input, is_standard_input
from fedsec.data.flows import FlowTable
from fedsec.data.mapping import Mapping
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.tails import Batch

#: The most lines of one batch set aside before the batch is taken for a wrong format.
REFUSED_PER_BATCH = 100
#: A further check of the rows a reader read (an InputError refuses them).
Check = Callable[[FlowTable], None]
#: How a batch is read: the input's path, its format, mapping and check.
Reading = tuple[Path, str, Mapping | None, Check | None]
#: A reader's words for a row of the file it read (here: the batch, staged on its own).
DATA_ROW = re.compile(r"\bdata row (\d+)")


def in_stream(problem: str, rows_before: int) -> str:
    """The reader's words about a staged batch, its data rows numbered as in the stream (the
    batch's first line is data row ``rows_before + 1`` there, data row 1 of the staging file)."""
    return DATA_ROW.sub(lambda found: f"data row {int(found[1]) + rows_before}", problem)


#: A reader's words for a line of the file it read (the staged header, then the batch's lines).
STAGED_LINE = re.compile(r"\bline (\d+)")


def as_rows(problem: str, batch: Batch) -> str:
    """The reader's words about a staged ``batch`` naming data rows, in the stream's numbering,
    not the staging file's lines: its line N is the header's, or the batch's line N - header
    (a garbage line's "line 2 has 2 fields" named the one-line staging file's line, not the
    stream's data row 1263 it was)."""
    header = len(batch.header)

    def named(found: re.Match[str]) -> str:
        line = int(found[1])
        return f"header line {line}" if line <= header else f"data row {line - header}"

    return in_stream(STAGED_LINE.sub(named, problem), batch.rows_before)


class Rejects:
    """Lines the format's reader refused, appended to a JSON-lines file as they come
    (``append``: to what it holds, as a resumed run does; else an existing file is emptied
    now, so that it holds this run's lines alone)."""

    def __init__(self, path: Path, *, append: bool = False) -> None:
        self.path, self.count, self.append = Path(path), 0, append
        self._file: BinaryIO | None = None
        if not append and os.path.lexists(self.path):
            self._open()

    def _open(self) -> BinaryIO:
        if self._file is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise unwritable(self.path, error) from None
            self._file = open_appending(self.path, "--rejects", truncate=not self.append)
        return self._file

    def set_aside(self, source: str, row: int, line: bytes, problem: str) -> None:
        record = {
            "source": source,
            "data_row": row,
            "problem": problem,
            "line": line.decode("utf-8", "replace").rstrip("\r\n"),
        }
        handle = self._open()
        try:
            handle.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
            handle.flush()
        except OSError as error:
            raise unwritable(self.path, error) from None
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def batch_tables(
    batch: Batch,
    staging: Path,
    path: Path,
    fmt: str,
    mapping: Mapping | None,
    rejects: Rejects | None = None,
    check: Check | None = None,
) -> list[FlowTable]:
    """The batch's tables, in its rows' order (refused lines set aside in ``rejects``, as are
    those ``check`` refuses, by raising InputError, once the reader has read them)."""
    first, last = batch.rows_before + 1, batch.rows_before + len(batch.lines)
    where = described_input(path)
    try:
        if rejects is None:
            return _read(batch, staging, path, fmt, mapping)
        before = rejects.count
        tables = list(_halved(batch, staging, (path, fmt, mapping, check), rejects, before))
    except InputError as error:  # a reader's (renumbered here) or _halved's (renumbered there)
        problem = error.problem if rejects is not None else as_rows(error.problem, batch)
        raise InputError(where, f"data rows {first}-{last}: {problem}") from None
    return tables


def _halved(batch: Batch, staging: Path, how: Reading, rejects: Rejects, before: int):
    """The tables of ``batch``, halved where refused down to single lines, set aside (``how``:
    the input's path, format, mapping and check)."""
    path = how[0]
    try:
        yield from _read(batch, staging, *how)
        return
    except InputError as error:
        if len(batch.lines) > 1:
            half = len(batch.lines) // 2
            for part in (
                Batch(batch.header, batch.lines[:half], batch.rows_before),
                Batch(batch.header, batch.lines[half:], batch.rows_before + half),
            ):
                yield from _halved(part, staging, how, rejects, before)
            return
        problem = as_rows(error.problem, batch)
        if rejects.count - before >= REFUSED_PER_BATCH:
            raise InputError(
                described_input(path),
                f"more than {REFUSED_PER_BATCH} lines refused, the last: {problem} (not "
                "a malformed line but data that does not fit the format)",
            ) from None
        source = described_input(path)
        rejects.set_aside(source, batch.rows_before + 1, batch.lines[0], problem)


def header_tables(
    header: list[bytes], staging: Path, path: Path, fmt: str, mapping: Mapping | None
) -> list[FlowTable]:
    """A pipe that brought its header and no row (a quiet hour): its table of no rows, the
    header checked as a file's with rows is (a missing column refused, naming the pipe)."""
    staging.write_bytes(b"".join(header))
    try:
        tables = list(read_chunks(fmt, [staging], mapping, header_only=[]))
    except InputError as error:
        raise InputError(described_input(path), error.problem) from None
    for table in tables:
        table.files = [str(path)]
    return tables


def _read(
    batch: Batch,
    staging: Path,
    path: Path,
    fmt: str,
    mapping: Mapping | None,
    check: Check | None = None,
) -> list[FlowTable]:
    """The batch read whole by the format's reader (and ``check``ed), each row pointing at its
    line in ``path`` (read whole: a refusal in a later chunk leaves none of it scored)."""
    staging.write_bytes(b"".join(batch.header + batch.lines))
    tables = list(read_chunks(fmt, [staging], mapping))
    if check is not None:
        for table in tables:  # its words name the staged rows, as the reader's do
            check(table)
    named = "" if is_standard_input(path) else str(path)  # standard input names no file
    for table in tables:
        table.source_file = np.full(len(table), named, dtype=object)
        table.source_row = table.source_row + batch.rows_before
        table.files = [str(path)]
    return tables

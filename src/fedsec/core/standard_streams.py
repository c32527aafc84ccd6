"""``-`` for standard input or output, as Unix tools take it: ``fedsec detect --out -`` writes
the alerts to standard output as they are scored, for a pipe into a shipper or ``jq``;
``fedsec detect --input -`` scores telemetry piped in (a named pipe alike: :func:`is_pipe`),
and ``fedsec incidents -`` reads alerts piped in. Any other ``--out`` is a file written
atomically (:mod:`fedsec.core.atomic`).

A pipe cannot be atomic: its reader has what was sent when a run stops half-way, and the
error says so. A reader that goes away (``| head``) ends the command quietly with 141, as
shells report a writer stopped by SIGPIPE (:func:`quiet_after_reader_left`).
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from fedsec.core import atomic
from fedsec.core.atomic import Sink
from fedsec.core.errors import OutputError

#: The ``--out`` that means standard output, the input that means standard input.
DASH = "-"
#: What is left when standard output stops taking lines, or the run stops half-way.
SENT_KEPT = "the lines sent before it stay with their reader"
#: 128 + SIGPIPE: the exit of a writer whose reader went away, as shells report it.
EXIT_READER_LEFT = 141


def is_standard_output(out: Path | str) -> bool:
    """Whether the output ``out`` names standard output (``-``)."""
    return str(out) == DASH


def is_standard_input(source: Path | str) -> bool:
    """Whether the input ``source`` names standard input (``-``)."""
    return str(source) == DASH


def described(out: Path | str) -> str:
    """The output ``out`` in words: its path, or "standard output"."""
    return "standard output" if is_standard_output(out) else str(out)


def is_pipe(source: Path | str) -> bool:
    """Whether the input ``source`` is read as it comes: standard input (``-``) or a named
    pipe (a FIFO, as bash's ``<(zcat conn.log.gz)`` gives)."""
    if is_standard_input(source):
        return True
    try:
        return stat.S_ISFIFO(os.stat(source).st_mode)
    except (OSError, ValueError):
        return False


#: Standard input in messages.
STANDARD_INPUT_NAME = "standard input"


def described_input(source: Path | str) -> str:
    """The input ``source`` in words: its path, or "standard input"."""
    return STANDARD_INPUT_NAME if is_standard_input(source) else str(source)


class FlushedSink(Sink):
    """A :class:`Sink` that hands each piece on whole as soon as it is written: a pipe's reader
    sees the alerts as they are scored, not when a buffer fills. Unbuffered (``python -u``,
    ``PYTHONUNBUFFERED``), standard output is the raw file, whose write takes only part of a
    piece when a signal interrupts it (72 KiB of 6.5 MB into a pipe, measured): the rest is
    written on, never dropped. A standard output made non-blocking by a process that shares it
    is waited on when full (buffered, the write failed after 64 KiB; unbuffered, it was retried
    without waiting)."""

    def write(self, data: bytes | memoryview) -> int:
        rest = memoryview(data)
        while rest:
            rest = rest[self._taken(rest) :]
        self.flush()
        return len(data)

    def flush(self) -> None:
        while True:
            try:
                super().flush()
                return
            except BlockingIOError:
                self._wait_until_writable()

    def _taken(self, rest: memoryview) -> int:
        """The bytes of ``rest`` the handle took (none when a non-blocking pipe is full: then
        wait until it takes more)."""
        try:
            written = super().write(rest)
        except BlockingIOError as error:
            written = error.characters_written
        if not written:  # None from a raw non-blocking file, or nothing taken
            self._wait_until_writable()
        return written or 0

    def _wait_until_writable(self) -> None:
        select.select([], [self._handle.fileno()], [])


def standard_output_sink() -> FlushedSink:
    """Standard output's bytes, each piece flushed as written."""
    if sys.stdout is None:  # started with standard output closed (>&-)
        raise OutputError("standard output is closed: give --out a file name, not '-'")
    return FlushedSink(sys.stdout.buffer, "standard output", SENT_KEPT)


@contextlib.contextmanager
def stream(out: Path) -> Iterator[Sink]:
    """A sink to write ``out`` piece by piece: standard output for ``-`` (each piece sent as
    written), else :func:`fedsec.core.atomic.stream` (the file appears complete or not at
    all)."""
    if is_standard_output(out):
        yield standard_output_sink()
        return
    with atomic.stream(out) as sink:
        yield sink


def quiet_after_reader_left() -> None:
    """Standard output pointed at ``/dev/null``: its reader left, and the interpreter's final
    flush of what is still buffered must not fail loudly."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)

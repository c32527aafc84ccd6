"""Readers of text that grows or comes (:mod:`fedsec.detect.follow` scores what they give):
:class:`Tail` takes the complete new lines of a growing file, across rotation and truncation;
:class:`PipeTail` those of a pipe (standard input for ``-``, or a named pipe) as they come,
until it ends, hashing what it reads as it reads it (:attr:`PipeTail.digest`: a pipe cannot be
read twice). Each batch carries the file's header (a CSV's first line, a Zeek log's ``#``
block) and the data rows read before it. A file's reader can resume at a position kept by an
earlier run (:mod:`fedsec.detect.follow_state`).
"""

from __future__ import annotations

import hashlib
import os
import select
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fedsec.core.errors import InputError
from fedsec.core.standard_streams import described_input, is_pipe, is_standard_input

if TYPE_CHECKING:
    from fedsec.detect.follow_state import Position

BATCH_BYTES = 4 << 20
#: How long a pipe may stay empty before what has come is scored (see :class:`PipeTail`).
GATHER_SECONDS = 0.02
#: How each format's files begin: a header line, Zeek's ``#`` header block, or no header.
FIRST_LINE, COMMENTS, NONE = "first-line", "comments", "none"
HEADERS: dict[str, str] = {"zeek": COMMENTS, "nsl-kdd": NONE}
NOT_TEXT: dict[bytes, str] = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"PK\x03\x04": "zip",
    b"PAR1": "Parquet",
    b"ARROW1": "Arrow IPC",
    b"\xff\xff\xff\xff": "Arrow IPC",
    b"\xd4\xc3\xb2\xa1": "pcap",
    b"\xa1\xb2\xc3\xd4": "pcap",
    b"\n\r\r\n": "pcapng",
}


def binary_kind(head: bytes) -> str | None:
    """What a stream beginning with ``head`` is when it is not text (gzip, Parquet, pcap ...)."""
    return next((kind for magic, kind in NOT_TEXT.items() if head.startswith(magic)), None)


@dataclass
class Batch:
    """New data lines of the followed file, its header, and the data rows read before them."""

    header: list[bytes]
    lines: list[bytes]
    rows_before: int


@dataclass
class FollowStats:
    batches: int = 0
    restarts: list[str] = field(default_factory=list)  # "rotated" / "truncated", in order
    resumed_at: int | None = None  # the byte a kept position resumed at (``--state``)
    set_aside: int = 0  # lines refused and set aside (``--rejects``)
    piped: dict[str, int | str] | None = None  # a pipe's bytes read and sha256, once it ended


class Tail:
    """The complete new lines of a growing text file, across rotation and truncation."""

    #: A file may always grow again; a pipe ends (:class:`PipeTail`).
    ended = False

    def __init__(self, path: Path, header: str, batch_bytes: int = BATCH_BYTES) -> None:
        self.path, self.header_kind, self.batch_bytes = Path(path), header, batch_bytes
        self.handle: BinaryIO | None = None
        self.stats = FollowStats()
        self.kept: Position | None = None

    def resume_at(self, kept: Position) -> None:
        """Start after the last line scored before (``--state``), when the file is still the
        one it was read from and no shorter; else from its start (rotated or truncated while
        no one followed it)."""
        self.kept = kept

    def where(self) -> dict:
        """Where the lines given so far end: the file (device, inode), the bytes through the
        last complete line, the data rows before it, the header in force."""
        assert self.handle is not None
        status = os.fstat(self.handle.fileno())
        return {
            "device": status.st_dev,
            "inode": status.st_ino,
            "offset": self.handle.tell() - len(self.partial),
            "rows": self.rows,
            "header": [line.decode("latin-1") for line in self.header],
            "in_data": self.in_data,
        }

    def wait(self, stop: threading.Event, seconds: float) -> None:
        """Until the next look for new lines: ``seconds``, or less when ``stop`` is set."""
        stop.wait(seconds)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def poll(self) -> Batch | None:
        """The next batch of complete lines, or None when there is nothing new yet."""
        if self.handle is None and not self._open():
            return None
        assert self.handle is not None
        if os.fstat(self.handle.fileno()).st_size < self.handle.tell():
            self._restart("truncated")
        while data := self.handle.read(self.batch_bytes):
            batch = self._batch(data)
            if batch is not None:
                return batch
        if self._rotated():
            self._restart("rotated")
            return self.poll()
        return None

    def _open(self) -> bool:
        kept = self.kept
        try:
            rotated = self._rotated_away(kept) if kept is not None else None
            self.handle = open(rotated or self.path, "rb")  # noqa: SIM115 (kept open across polls)
        except FileNotFoundError:
            return False
        self.kept = None
        self.inode = os.fstat(self.handle.fileno()).st_ino
        self._from_the_start()
        self._check_text()
        if kept is not None:
            self._resume(kept)
        return True

    def _rotated_away(self, kept: Position) -> Path | None:
        """The file the kept position was in, when it is no longer at the path but still in
        its folder under another name (``conn.log.1``, as logrotate renames): its lines after
        the position are read first, then the new file's."""
        try:
            status = os.stat(self.path)
            if (status.st_dev, status.st_ino) == (kept.device, kept.inode):
                return None
        except FileNotFoundError:
            pass
        with os.scandir(self.path.parent) as entries:
            for entry in entries:
                found = entry.stat(follow_symlinks=False)
                if (found.st_dev, found.st_ino) == (kept.device, kept.inode) and entry.is_file():
                    return Path(entry.path)
        return None

    def _resume(self, kept: Position) -> None:
        assert self.handle is not None
        status = os.fstat(self.handle.fileno())
        if (status.st_dev, status.st_ino) != (kept.device, kept.inode):
            self.stats.restarts.append("rotated while stopped")  # the old file is gone
        elif status.st_size < kept.offset:
            self.stats.restarts.append("truncated while stopped")
        else:
            self.handle.seek(kept.offset)
            self.header = [line.encode("latin-1") for line in kept.header]
            self.rows, self.in_data = kept.rows, kept.in_data
            self.stats.resumed_at = kept.offset

    def _from_the_start(self) -> None:
        """Nothing read yet: no partial line, no header, no data row."""
        self.partial, self.header, self.rows, self.in_data = b"", [], 0, False

    def _check_text(self) -> None:
        assert self.handle is not None
        head = self.handle.read(8)
        self.handle.seek(0)
        kind = binary_kind(head)
        if kind is not None:
            raise InputError(
                self.path, f"is {kind}, not a text file: --follow reads text files as they grow"
            )

    def _rotated(self) -> bool:
        try:
            return os.stat(self.path).st_ino != self.inode
        except FileNotFoundError:
            return False  # between the move and the new file: keep the old one

    def _restart(self, why: str) -> None:
        self.close()
        self.stats.restarts.append(why)
        self._open()

    def _batch(self, data: bytes) -> Batch | None:
        buffer = self.partial + data
        end = buffer.rfind(b"\n") + 1
        self.partial = buffer[end:]
        if len(self.partial) >= self.batch_bytes:
            raise InputError(self.path, f"holds a line longer than {self.batch_bytes} bytes")
        lines = [line for line in buffer[:end].splitlines(keepends=True) if line.strip()]
        data_lines = [line for line in lines if not self._header_line(line)]
        if not data_lines:
            return None
        batch = Batch(list(self.header), data_lines, self.rows)
        self.rows += len(data_lines)
        return batch

    def _header_line(self, line: bytes) -> bool:
        """Whether ``line`` belongs to the header (remembered for the batches after it)."""
        if self.header_kind == FIRST_LINE and not self.header:
            self.header.append(line)
            return True
        if self.header_kind != COMMENTS or not line.startswith(b"#"):
            self.in_data = True
            return False
        if line.startswith(b"#separator") or (self.in_data and not line.startswith(b"#close")):
            self.header, self.in_data = [], False
        if not line.startswith(b"#close"):
            self.header.append(line)
        return True


class PipeTail(Tail):
    """The complete new lines of a pipe (standard input for ``-``, or a named pipe), batch by
    batch as they come, until it ends; a last line without its newline is taken at the end,
    as the whole file's reader takes it. Every byte read is hashed as it is read
    (:meth:`read_record`)."""

    def __init__(self, header: str, batch_bytes: int = BATCH_BYTES, path: Path = Path("-")) -> None:
        super().__init__(Path(described_input(path)), header, batch_bytes)
        self.owned = not is_standard_input(path)
        if not self.owned and sys.stdin is None:
            raise InputError(self.path, "closed; give the telemetry file by name")
        try:
            self.fd = os.open(path, os.O_RDONLY) if self.owned else sys.stdin.fileno()
        except OSError as error:
            raise InputError(self.path, f"cannot read: {error.strerror or error}") from None
        if not self.owned and os.isatty(self.fd):
            raise InputError(
                self.path,
                "is a terminal: pipe the telemetry in (zcat conn.log.gz | fedsec detect "
                "--input - ...)",
            )
        self._from_the_start()
        self.checked = False
        self.digest, self.bytes_read = hashlib.sha256(), 0

    def read_record(self) -> dict[str, int | str]:
        """The bytes read from the pipe so far and their SHA-256 (all of it, once it ended)."""
        return {"bytes": self.bytes_read, "sha256": self.digest.hexdigest()}

    def poll(self) -> Batch | None:
        """The next batch of complete lines, or None when none has come yet (or it ended)."""
        if self.ended:
            return None
        data = self._gathered()
        if self.ended and (self.partial + data)[-1:] not in (b"", b"\n"):
            data += b"\n"  # the last line, without its newline
        return self._batch(data)

    def _gathered(self) -> bytes:
        """What has come, up to a batch: a pipe gives 64 KiB a read, and scoring each read
        alone was ten times slower (per-batch costs); reading stops when the pipe stays empty
        ``GATHER_SECONDS`` (a live stream waits no longer than that) or at its end."""
        pieces, size, wait = [], 0, 0.0
        while size < self.batch_bytes and select.select([self.fd], [], [], wait)[0]:
            data = os.read(self.fd, self.batch_bytes - size)
            if not self.checked:
                self._check_head(data)
            if not data:
                self.ended = True
                break
            self.digest.update(data)
            self.bytes_read += len(data)
            pieces.append(data)
            size, wait = size + len(data), GATHER_SECONDS
        return b"".join(pieces)

    def wait(self, stop: threading.Event, seconds: float) -> None:
        """Until lines come, or ``seconds`` pass (a signal that sets ``stop`` ends it early)."""
        if not stop.is_set():
            select.select([self.fd], [], [], seconds)

    def close(self) -> None:
        """A named pipe closed; standard input stays open (not this reader's to close)."""
        if self.owned and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _check_head(self, data: bytes) -> None:
        self.checked = True
        kind = binary_kind(data)
        if kind is not None:
            raise InputError(
                self.path,
                f"is {kind}, not text: a pipe is read as text lines (decompress it into the "
                "pipe, or give the file by name)",
            )


def header_kind(fmt: str, path: Path) -> str:
    """How files of ``fmt`` begin (pcap is refused: --follow reads text)."""
    if fmt == "pcap":
        raise InputError(
            path, "a packet capture cannot be read as it grows or comes: meter it into flows"
        )
    return HEADERS.get(fmt, FIRST_LINE)


def tail_of(path: Path, fmt: str, batch_bytes: int) -> Tail:
    """What reads ``path`` as it grows or comes: a pipe (``-``: standard input), or a file."""
    if is_pipe(path):
        return PipeTail(header_kind(fmt, Path(described_input(path))), batch_bytes, path)
    return Tail(path, header_kind(fmt, path), batch_bytes)

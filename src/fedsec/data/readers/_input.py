"""Hardened file input shared by every reader (flow CSVs, Zeek logs, log files).

A file is read through one gate: it must exist, decompress (gzip, bzip2, xz or a one-member zip,
recognised by their magic bytes) within a size and an inflation-ratio cap checked while
streaming (never inflated blindly), keep every line under a length cap, and be UTF-8 text without
NUL bytes. Every refusal is an :class:`~fedsec.core.errors.InputError` naming the file and where.

Limits (defaults, and the environment variable that overrides each for a larger real dataset):

=====================  ===========  ==========================  =================================
limit                  default      variable                    why
=====================  ===========  ==========================  =================================
decompressed size      2 GiB        ``FEDSEC_MAX_INPUT_BYTES``  the full CIC-IDS2017 day files are
                                                                < 0.5 GiB, loghub's HDFS 1.5 GiB
inflation ratio        100 : 1      ``FEDSEC_MAX_INFLATION``    checked past 64 MiB; real gzip'd
                                                                CSVs and logs inflate < 40 : 1,
                                                                gzip bombs of rows > 190 : 1
line length            1 MiB        ``FEDSEC_MAX_LINE_BYTES``   real lines are < 4 KiB
columns                1,000        ``FEDSEC_MAX_COLUMNS``      the widest format has 91
rows                   unlimited    ``FEDSEC_MAX_ROWS``         optional, per file
=====================  ===========  ==========================  =================================
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.leaks import check_capture_bytes

MiB = 1 << 20
CHUNK = MiB


@dataclass(frozen=True)
class Limits:
    """Caps on one input file (see the module docstring)."""

    max_bytes: int = 2048 * MiB
    max_inflation: int = 100
    inflation_grace: int = 64 * MiB
    max_line_bytes: int = MiB
    max_columns: int = 1_000
    max_rows: int | None = None


ENVIRONMENT: dict[str, str] = {
    "max_bytes": "FEDSEC_MAX_INPUT_BYTES",
    "max_inflation": "FEDSEC_MAX_INFLATION",
    "max_line_bytes": "FEDSEC_MAX_LINE_BYTES",
    "max_columns": "FEDSEC_MAX_COLUMNS",
    "max_rows": "FEDSEC_MAX_ROWS",
}


def limits() -> Limits:
    """The defaults, overridden by the ``FEDSEC_MAX_*`` environment variables that are set."""
    values: dict[str, int] = {}
    for field in fields(Limits):
        variable = ENVIRONMENT.get(field.name)
        text = os.environ.get(variable, "").strip() if variable else ""
        if not text:
            continue
        try:
            values[field.name] = int(text.replace("_", ""))
        except ValueError:
            raise ConfigError(f"{variable}={text!r} is not a whole number") from None
        if values[field.name] < 1:
            raise ConfigError(f"{variable}={text!r} must be at least 1")
    return Limits(**values)


def read_bytes(path: Path, caps: Limits | None = None) -> bytearray:
    """The file's content, decompressed when it is gzip/bzip2/xz/zip, within the caps."""
    path = Path(path)
    caps = caps or limits()
    with _opened(path) as (raw, kind):
        if kind is None and path.stat().st_size > caps.max_bytes:
            raise InputError(path, f"is larger than {_size(caps.max_bytes)} ({_override()})")
        return _drain(path, raw, kind, caps)


def require_file(path: Path) -> None:
    """Refuse what is not a regular file, saying what it is instead (readers may read a file
    twice or seek in it: a stream is to be saved to a file first)."""
    if path.is_file():
        return
    if path.is_dir():
        raise InputError(path, "is a folder, not a file")
    if path.exists():
        raise InputError(
            path, "is not a regular file (a pipe, socket or device): save the stream to a file"
        )
    raise InputError(path, "file not found")


@contextmanager
def _opened(path: Path) -> Iterator[tuple[BinaryIO, str | None]]:
    """The file open for reading and its compression (from its first bytes); what reading it
    raises becomes an :class:`InputError` naming it."""
    require_file(path)
    try:
        with open(path, "rb") as raw:
            head = raw.read(6)
            check_capture_bytes(path, head)
            raw.seek(0)
            yield raw, _compression(head)
    except InputError:
        raise
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as error:
        raise InputError(path, f"cannot be read or decompressed: {error}") from error
    except (NotImplementedError, RuntimeError) as error:  # zip: unknown method, encrypted
        raise InputError(path, f"cannot be decompressed: {error}") from error


def read_text(path: Path, caps: Limits | None = None, *, replace: bool = False) -> str:
    """The file as UTF-8 text (a leading BOM dropped). Bytes that are not UTF-8 are an error
    naming the byte, its offset and line, unless ``replace`` (then they become U+FFFD); so is
    a NUL byte."""
    return _Decoded(Path(path), replace).text(read_bytes(path, caps))


def text_blocks(
    path: Path, caps: Limits | None = None, *, replace: bool = False, block_bytes: int = CHUNK
) -> Iterator[str]:
    """The file as :func:`read_text` reads it, in blocks of whole lines (each ends with a line
    break, except perhaps the last) of about ``block_bytes``, never the whole file in memory: the
    same refusals, with the same offsets and line numbers, except the size cap, which bounds
    what a whole read holds (the inflation, line-length and row caps still apply)."""
    path = Path(path)
    caps = caps or limits()
    with _opened(path) as (raw, kind):
        decoded = _Decoded(path, replace)
        for block in _line_blocks(path, raw, kind, caps, block_bytes):
            yield decoded.text(block)


def _line_blocks(
    path: Path, raw: BinaryIO, kind: str | None, caps: Limits, block_bytes: int
) -> Iterator[bytes]:
    """The (inflated) bytes in blocks cut after a line break, checked as :func:`_drain` checks
    them, the size cap aside."""
    stream, compressed = _open_stream(path, raw, kind)
    lines = _LineGuard(path, caps.max_line_bytes)
    pending, total = bytearray(), 0
    while chunk := stream.read(min(CHUNK, caps.max_line_bytes)):
        lines.feed(chunk)
        total += len(chunk)
        _check_inflation(path, kind, total, compressed(), caps)
        pending += chunk
        while len(pending) >= block_bytes:
            cut = pending.rfind(b"\n", 0, block_bytes) + 1 or pending.find(b"\n") + 1
            if not cut:
                break
            yield bytes(pending[:cut])
            del pending[:cut]
    if pending:
        yield bytes(pending)


class _Decoded:
    """UTF-8 text of a whole file or of its consecutive blocks of whole lines, with the same
    refusals, offsets and line numbers either way (a line break never falls inside a UTF-8
    sequence, so blocks decode alone)."""

    def __init__(self, path: Path, replace: bool) -> None:
        self.path, self.replace = path, replace
        self.offset, self.line = 0, 1

    def text(self, block: bytes | bytearray) -> str:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as error:
            if not self.replace:
                line = self.line + block.count(b"\n", 0, error.start)
                raise InputError(
                    self.path,
                    f"is not UTF-8 text: byte 0x{block[error.start]:02x} at offset "
                    f"{self.offset + error.start} (line {line})",
                ) from None
            text = block.decode("utf-8", "replace")
        nul = text.find("\x00")
        if nul >= 0:
            line = self.line + text.count("\n", 0, nul)
            raise InputError(self.path, f"holds a NUL byte on line {line}: binary data, not text")
        if self.offset == 0:
            text = text.removeprefix("\ufeff")
        self.offset += len(block)
        self.line += block.count(b"\n")
        return text


def text_lines(path: Path, caps: Limits | None = None) -> Iterator[str]:
    """Lines of a text file as :func:`open` yields them (universal newlines, endings kept)."""
    yield from io.StringIO(read_text(path, caps), newline=None)


def _compression(head: bytes) -> str | None:
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    return None


def _drain(path: Path, raw: BinaryIO, kind: str | None, caps: Limits) -> bytearray:
    """Read (and inflate) in chunks, checking size, inflation and line length as it goes."""
    stream, compressed = _open_stream(path, raw, kind)
    out = bytearray()
    lines = _LineGuard(path, caps.max_line_bytes)
    while chunk := stream.read(min(CHUNK, caps.max_line_bytes)):
        out += chunk
        lines.feed(chunk)
        if len(out) > caps.max_bytes:
            raise InputError(path, f"inflates to more than {_size(caps.max_bytes)} ({_override()})")
        _check_inflation(path, kind, len(out), compressed(), caps)
    return out


def _check_inflation(path: Path, kind: str | None, inflated: int, read: int, caps: Limits) -> None:
    past_grace = kind is not None and inflated > caps.inflation_grace
    if past_grace and inflated / max(read, 1) > caps.max_inflation:
        raise InputError(
            path,
            f"inflates more than {caps.max_inflation}:1 (a decompression bomb?) ({_override()})",
        )


def _open_stream(path: Path, raw: BinaryIO, kind: str | None):
    """A readable stream of the content and a function giving the compressed bytes read."""
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw), raw.tell
    if kind == "bzip2":
        return bz2.BZ2File(raw), raw.tell
    if kind == "xz":
        return lzma.LZMAFile(raw), raw.tell
    if kind == "zip":
        archive = zipfile.ZipFile(raw)
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            raise InputError(
                path, f"zip archive holds {len(members)} files; extract them and pass each"
            )
        return archive.open(members[0]), lambda: members[0].compress_size
    return raw, raw.tell


class _LineGuard:
    """Refuses a line longer than the cap as soon as the bytes read show it."""

    def __init__(self, path: Path, cap: int) -> None:
        self.path, self.cap = path, cap
        self.current = 0
        self.line = 1

    def feed(self, chunk: bytes) -> None:
        """Chunks are never longer than the cap, so only the lines that cross a chunk's edges
        can be too long: checking those is enough (and cheap)."""
        first = chunk.find(b"\n")
        if first < 0:
            self.current += len(chunk)
            self._check(self.current)
            return
        self._check(self.current + first)
        self.line += chunk.count(b"\n")
        self.current = len(chunk) - chunk.rfind(b"\n") - 1
        self._check(self.current)

    def _check(self, length: int) -> None:
        if length > self.cap:
            raise InputError(
                self.path,
                f"line {self.line} is longer than {_size(self.cap)} "
                f"(not a line-oriented text file? {_override()})",
            )


def _size(n: int) -> str:
    return f"{n / MiB:g} MiB" if n >= MiB else f"{n} bytes"


def _override() -> str:
    return "limits: FEDSEC_MAX_* environment variables, see docs/data.md"

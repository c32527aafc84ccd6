"""A CSV parsed block by block by Arrow's streaming reader: what ``fedsec detect`` reads a flow
CSV (plain or gzip) with.

Arrow infers column types once, from the file's first 8 MiB of lines; times stay text, and
integer columns other than context (ports, ids, times keep their integers, as alerts show them)
are read as float64, so a later block with a fraction in such a column is no error. Values
pandas reads as missing are missing here too. The header is the first line that is not empty,
a line ending at LF, CRLF or a lone CR, as the whole read takes it. A NUL byte, which Arrow's
parser would take into a value, is refused as it is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from pandas._libs.parsers import STR_NA_VALUES

from fedsec.core.errors import InputError
from fedsec.data.canonical import CONTEXT_COLUMNS
from fedsec.data.readers._csv_records import check_separator
from fedsec.data.readers._tables import check_columns, rechunked

#: The CSV parser's block: its buffers take some 25x the block in memory (200 MiB at 8 MiB),
#: so blocks are small and their batches joined into chunks.
CSV_BLOCK_BYTES = 1 << 20
#: Column types are inferred once, from the file's first whole lines up to this size.
TYPE_SAMPLE_BYTES = 8 << 20
#: A line that is not empty; a line ends at LF, CRLF or a lone CR (as Arrow's parser and
#: Python's csv read them).
LINE = re.compile(rb"[^\r\n]+")
#: Integer columns kept as integers (context: alerts show them as they were written).
KEEP_INTEGERS = frozenset({*CONTEXT_COLUMNS, "org", "campaign"})


def csv_batches(path: Path, compression: str | None, rows: int) -> Iterator[pa.Table]:
    """The CSV's rows, parsed block by block, as tables of about ``rows`` rows (what Arrow
    cannot parse or convert: an :class:`InputError` in Arrow's words, which
    :func:`~fedsec.data.readers.chunks.read_chunks` words as the whole read does)."""
    try:
        yield from _arrow_csv(path, compression, rows)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as error:  # decode: a header name
        raise InputError(path, f"cannot be parsed as CSV: {error}") from error


def _arrow_csv(path: Path, compression: str | None, rows: int) -> Iterator[pa.Table]:
    with pa.input_stream(str(path), compression=compression) as source:
        names = _header(path, source)
    read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    parse = pacsv.ParseOptions(newlines_in_values=False)
    convert = pacsv.ConvertOptions(
        null_values=sorted(STR_NA_VALUES),
        strings_can_be_null=True,
        column_types=_types(path, compression, names),
    )
    with pa.input_stream(str(path), compression=compression) as source:
        guarded = pa.PythonFile(_NoNul(path, source), mode="r")
        reader = pacsv.open_csv(
            guarded, read_options=read, parse_options=parse, convert_options=convert
        )
        yield from rechunked(reader, rows)


class _NoNul:
    """A CSV's bytes as Arrow's parser reads them, refused at the first NUL byte (binary data,
    not text; Arrow's parser would take it into a value), as the whole read refuses them."""

    def __init__(self, path: Path, source: pa.NativeFile) -> None:
        self.path, self.source, self.closed = path, source, False

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        if b"\0" in data:
            raise InputError(self.path, "holds a NUL byte: binary data, not text")
        return data

    def close(self) -> None:
        self.closed = True


def _header(path: Path, source: pa.NativeFile) -> list[str]:
    """The header's names: the first line that is not empty, as the whole read and Arrow's
    parser take it (a line ends at LF, CRLF or a lone CR)."""
    first = LINE.search(source.read(1 << 20))
    line = (first.group() if first else b"").decode("utf-8", "replace")
    names = [name.replace("\ufeff", "").strip().strip('"') for name in line.split(",")]
    check_columns(path, names)
    check_separator(path, names)
    return names


def _types(path: Path, compression: str | None, names: list[str]) -> dict[str, pa.DataType]:
    """Arrow's inference on the file's first whole lines (up to :data:`TYPE_SAMPLE_BYTES`),
    integers widened to float64 except context; every column's type is then given to the
    streaming reader, whatever its block size. The sample is parsed on its own: a streaming
    reader opened for its schema would start parsing the file ahead, its buffers held."""
    with pa.input_stream(str(path), compression=compression) as source:
        head = source.read(TYPE_SAMPLE_BYTES)
    if len(head) == TYPE_SAMPLE_BYTES:
        head = head[: head.rfind(b"\n") + 1] or head
    convert = pacsv.ConvertOptions(null_values=sorted(STR_NA_VALUES), strings_can_be_null=True)
    read = pacsv.ReadOptions(block_size=TYPE_SAMPLE_BYTES, use_threads=False)
    schema = pacsv.read_csv(pa.py_buffer(head), read_options=read, convert_options=convert).schema
    return {field.name: _widened(field) for field in schema}


def _widened(field: pa.Field) -> pa.DataType:
    """Times stay text (as pandas reads them); integers become floats, except context."""
    kind = field.type
    if pa.types.is_temporal(kind) or pa.types.is_binary(kind):
        return pa.string()  # binary: text that is not UTF-8, refused when read as text
    if pa.types.is_integer(kind) and field.name.strip() not in KEEP_INTEGERS:
        return pa.float64()
    return kind

"""Flow files read in bounded chunks: what ``fedsec detect`` streams.

A format with a batch reader (``STREAMED``) is read through Arrow batch by batch: CSV (plain or
gzip) by pyarrow's streaming CSV reader, Parquet by row groups, Arrow IPC (file or stream) by
record batch, batches joined or sliced (without a copy) into chunks of about ``CHUNK_ROWS`` rows.
Each chunk goes to the format's batch reader (flows: :mod:`flows_arrow`, the table
``from_frame`` builds, without its pandas work per row), its rows keeping their position in the
file, so the tables match the whole-file read row for row. The dataset CSV formats
(``FRAME_STREAMED``: UNSW-NB15, CIC-IDS2017, NetFlow v2, NSL-KDD) are read by the checked CSV
reader block by block (:func:`read_csv_chunks`: the same checks and refusals as a whole read,
with the same line and row numbers), and Zeek ASCII logs by :func:`ascii_chunks` likewise, each
frame converted by the format's own ``from_frame``. Memory stays bounded by the chunk, whatever
the file's size; so are files read through a mapping (``mapped``: CSV block by block, Parquet
batch by batch), Zeek JSON logs (scanned once for their keys, as a chunk's columns are those
of all the log's records, then read chunk by chunk: :mod:`zeek_json`) and packet captures
(metered as they are read: :func:`pcap.chunks`). Other inputs (TON_IoT, and flow CSVs
compressed otherwise than by gzip) are read whole by their reader and handed out in slices.
TON_IoT stays whole on purpose: whether a sensor column is numeric or a category is decided
from all of its values.

A flow CSV is parsed by Arrow (:mod:`csv_arrow`) and its refusals are the whole read's, word
for word: where Arrow's path refuses a block or cannot parse or convert it, the file's text and
records are checked through and the rest is read by the checked CSV reader (its rows, when the
whole read takes them: a later value the first lines' types do not fit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fedsec.core.errors import EmptyInput, HeaderOnly, InputError
from fedsec.data.flows import FlowTable
from fedsec.data.leaks import check_capture_bytes
from fedsec.data.mapping import Mapping
from fedsec.data.readers import (
    cicids2017,
    flows,
    mapped,
    nf_v2,
    nsl_kdd,
    pcap,
    read_flows,
    unsw_nb15,
    zeek,
)
from fedsec.data.readers._csv_records import check_records, read_csv_chunks
from fedsec.data.readers._input import limits, require_file
from fedsec.data.readers._tables import (
    ARROW_FILE_MAGIC,
    ARROW_STREAM_MAGIC,
    arrow_batches,
    check_columns,
    frame_chunks,
    parquet_batches,
    rechunked,
    schema_names,
)
from fedsec.data.readers.csv_arrow import csv_batches
from fedsec.data.readers.flows_arrow import from_arrow
from fedsec.data.readers.zeek_arrow import lines_table, typed_table
from fedsec.data.readers.zeek_ascii import ascii_chunks
from fedsec.data.readers.zeek_json import json_chunks
from fedsec.data.readers.zeek_json_arrow import JsonChunk

CHUNK_ROWS = 65_536
GZIP_MAGIC = b"\x1f\x8b"

#: Reads one batch of a file (``Path``) whose first row is the file's row ``int`` (0-based).
BatchReader = Callable[[pa.Table, Path, int], FlowTable]
#: Formats read chunk by chunk: their reader of an Arrow batch.
STREAMED: dict[str, BatchReader] = {"flows": from_arrow}
#: Their reader of the checked CSV reader's frames: what words a refusal as the whole read does.
STREAMED_FRAMES: dict[str, Callable[[pd.DataFrame, Path], FlowTable]] = {"flows": flows.from_frame}
#: The checked CSV reader's block (dataset CSV formats): whole lines, about this many bytes.
FRAME_BLOCK_BYTES = 1 << 20
#: A format's frames of about ``rows`` rows of a file (None: it reads that file whole); a
#: frame is what the format's reader takes (Zeek: the table already read).
Frames = Callable[[Path, int], Iterator[Any] | None]


def _csv_frames(options: dict) -> Frames:
    return lambda path, rows: read_csv_chunks(path, rows, block_bytes=FRAME_BLOCK_BYTES, **options)


def _zeek_tables(path: Path, rows: int) -> Iterator[FlowTable]:
    """An ASCII log's tables, each chunk's checked lines read through Arrow
    (:func:`zeek_arrow.lines_table`); a JSON log's, chunk by chunk, each chunk with the columns
    of the whole log (:func:`zeek_json.json_chunks`)."""
    if zeek.is_json(path):
        found = json_chunks(path, rows, zeek.JSON_NUMBERS, block_bytes=FRAME_BLOCK_BYTES)
        return (_json_table(chunk, path) for chunk in found)
    return ascii_chunks(path, rows, block_bytes=FRAME_BLOCK_BYTES, frame=lines_table)


def _json_table(chunk: JsonChunk, path: Path) -> FlowTable:
    """A JSON chunk's flows: from Arrow's table where that reads alike, else its frame's."""
    table = None if chunk.arrow is None else typed_table(chunk.arrow, chunk.frame, path)
    return table if table is not None else zeek.from_frame(chunk.frame, path)


def _already_read(table: FlowTable, path: Path) -> FlowTable:
    return table


#: Formats read block by block by their checked text readers: (the frames, the frame's reader).
FRAME_STREAMED: dict[str, tuple[Frames, Callable[[Any, Path], FlowTable]]] = {
    "unsw-nb15": (_csv_frames({}), unsw_nb15.from_frame),
    "cicids2017": (_csv_frames(cicids2017.CSV_OPTIONS), cicids2017.from_frame),
    "nf-v2": (_csv_frames({}), nf_v2.from_frame),
    "nsl-kdd": (_csv_frames(nsl_kdd.CSV_OPTIONS), nsl_kdd.from_frame),
    "zeek": (_zeek_tables, _already_read),
    "pcap": (pcap.chunks, _already_read),
}


def read_chunks(
    fmt: str,
    paths: Sequence[Path],
    mapping: Mapping | None = None,
    rows: int = CHUNK_ROWS,
    skipped: list[Path] | None = None,
    header_only: list[Path] | None = None,
) -> Iterator[FlowTable]:
    """The files' rows as tables of at most about ``rows`` rows, in file order. With
    ``skipped``, a file of several that holds no rows (empty, a header only: a day without
    traffic) is added to it and passed over; unless every file is empty. With
    ``header_only``, a CSV or Zeek ASCII log holding a header and no rows (a quiet hour) is
    added to it and given as a table of no rows, its header read as a file's with rows (a
    missing column refused)."""
    if not paths:
        read_flows(fmt, paths, mapping)  # the usual refusal
    empty: list[EmptyInput] = []
    for path in map(Path, paths):
        header = None
        try:
            yield from _file_chunks(fmt, path, mapping, rows)
        except EmptyInput as error:
            header = None if header_only is None else _header_table(fmt, error, mapping)
            if header is None:
                if skipped is None or len(paths) == 1:
                    raise
                empty.append(error)
                skipped.append(path)
        if header is not None and header_only is not None:
            header_only.append(path)
            yield header
    if empty and len(empty) == len(paths):
        raise empty[0]


def _header_table(fmt: str, error: EmptyInput, mapping: Mapping | None) -> FlowTable | None:
    """A header-only CSV's (or Zeek ASCII log's) table of no rows, its header read by the
    format's frame reader; None for another empty input, or a format read otherwise."""
    if not isinstance(error, HeaderOnly):
        return None
    frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in error.names})
    if fmt == "mapped" and mapping is not None:
        return mapped.from_frame(frame, error.path, mapping)
    if fmt == "zeek":  # an ASCII log's #fields (a JSON log has no header)
        return zeek.from_frame(frame, error.path)
    convert = STREAMED_FRAMES.get(fmt) or FRAME_STREAMED.get(fmt, (None, None))[1]
    return None if convert is None else convert(frame, error.path)


def _file_chunks(fmt: str, path: Path, mapping: Mapping | None, rows: int) -> Iterator[FlowTable]:
    """One file's rows as tables of at most about ``rows`` rows."""
    tables = _frame_tables(fmt, path, rows, mapping)
    if tables is not None:
        yield from tables
        return
    found = _batches(path, rows) if fmt in STREAMED and mapping is None else None
    if found is None:
        table = read_flows(fmt, [path], mapping)
        for start in range(0, len(table), rows):
            yield table.take(np.arange(start, min(start + rows, len(table))))
        return
    batches, text = found
    tables = _converted(fmt, path, batches)
    yield from _csv_tables(fmt, path, tables, rows) if text else tables


def _csv_tables(
    fmt: str, path: Path, tables: Iterator[FlowTable], rows: int
) -> Iterator[FlowTable]:
    """A CSV's tables (``tables``: Arrow's), with the whole read's refusals: where Arrow's
    path refuses a block or cannot parse or convert it (a value that does not fit the types of
    the file's first lines), the file's text and records are checked
    through (:func:`check_records`) and the rest is read as the whole read reads it, ``rows``
    rows at a time: its rows, or its refusal in its words (the column, row and value as
    written). On this path only, so a refusal may take a second read of the file."""
    done = 0
    try:
        for table in tables:
            yield table
            done += len(table)
    except InputError:
        check_records(path)
        yield from _checked_rest(fmt, path, rows, done)


def _checked_rest(fmt: str, path: Path, rows: int, done: int) -> Iterator[FlowTable]:
    """The CSV's rows after its first ``done`` data rows, read by the checked CSV reader."""
    for frame in read_csv_chunks(path, rows, first_row=done):
        yield STREAMED_FRAMES[fmt](frame, path)


def _converted(fmt: str, path: Path, batches: Iterator[pa.Table]) -> Iterator[FlowTable]:
    """The batches read by the format's batch reader, each keeping its rows' place."""
    seen = 0
    for batch in batches:
        seen += batch.num_rows
        _check_rows(path, seen)
        yield STREAMED[fmt](batch, path, seen - batch.num_rows)
    if seen == 0:
        raise EmptyInput(path, "no rows")


@dataclass(frozen=True)
class RowGroup:
    """One row group of a Parquet input: its ``index`` in its file, its ``rows``, the rows of
    its file before it (``first_row``) and the rows of all the inputs before it (``offset``)."""

    path: Path
    index: int
    rows: int
    first_row: int
    offset: int


def parquet_row_groups(
    fmt: str, paths: Sequence[Path], mapping: Mapping | None = None
) -> list[RowGroup] | None:
    """The inputs' row groups in their order, when every input is a Parquet file with rows,
    within the row cap, that ``fmt`` reads by batches; else None (then :func:`read_chunks`
    reads them, and words what is wrong with them). Each group can then be read on its own
    (:func:`row_group_chunks`), giving the rows :func:`read_chunks` gives."""
    if fmt not in STREAMED or mapping is not None or not paths:
        return None
    cap, groups, offset = limits().max_rows, [], 0
    for path in map(Path, paths):
        meta = _parquet_metadata(path)
        if meta is None or meta.num_rows == 0 or (cap is not None and meta.num_rows > cap):
            return None
        first = 0
        for index in range(meta.num_row_groups):
            rows = meta.row_group(index).num_rows
            groups.append(RowGroup(path, index, rows, first, offset))
            first, offset = first + rows, offset + rows
    return groups


def _parquet_metadata(path: Path) -> pq.FileMetaData | None:
    """The file's Parquet metadata; None when it is not a readable Parquet file."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != b"PAR1":
                return None
        return pq.ParquetFile(path).metadata
    except (pa.ArrowException, OSError):
        return None


def row_group_chunks(fmt: str, group: RowGroup, rows: int = CHUNK_ROWS) -> Iterator[FlowTable]:
    """The row group's rows as tables of at most about ``rows`` rows: those rows as
    :func:`read_chunks` reads them (their place in the file kept), cut at the group's ends."""
    seen = group.first_row
    for batch in _parquet(group.path, rows, [group.index]):
        seen += batch.num_rows
        yield STREAMED[fmt](batch, group.path, seen - batch.num_rows)


def _frame_tables(
    fmt: str, path: Path, rows: int, mapping: Mapping | None
) -> Iterator[FlowTable] | None:
    """The file's tables, frame by frame, when its format streams frames (None: it does not,
    or a mapping goes with another format than ``mapped``, which ``read_flows`` refuses)."""
    if fmt == "mapped" and mapping is not None:
        frames = frame_chunks(
            path, rows, allow_duplicates=mapping.duplicates, block_bytes=FRAME_BLOCK_BYTES
        )
        return _tables(path, frames, lambda raw, source: mapped.from_frame(raw, source, mapping))
    if fmt not in FRAME_STREAMED or mapping is not None:
        return None
    frames_of, from_frame = FRAME_STREAMED[fmt]
    frames = frames_of(path, rows)
    return None if frames is None else _tables(path, frames, from_frame)


def _tables(
    path: Path,
    frames: Iterator[pd.DataFrame],
    from_frame: Callable[[pd.DataFrame, Path], FlowTable],
) -> Iterator[FlowTable]:
    """Each frame's table (its frames' indexes reset, as a whole read's)."""
    seen = 0
    for frame in frames:
        table = from_frame(frame, path)
        seen += len(table)
        if len(table):
            yield table.take(np.arange(len(table)))
    if seen == 0:
        raise EmptyInput(path, "no rows")


def _check_rows(path: Path, seen: int) -> None:
    cap = limits().max_rows
    if cap is not None and seen > cap:
        raise InputError(path, f"has more than {cap} rows, the cap (FEDSEC_MAX_ROWS)")


def _batches(path: Path, rows: int) -> tuple[Iterator[pa.Table], bool] | None:
    """Batches of the file's rows and whether the file is text (a CSV), or None when the file
    is not one Arrow streams."""
    require_file(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    check_capture_bytes(path, head)
    if head[:4] == b"PAR1":
        return _parquet(path, rows), False
    if head[:6] == ARROW_FILE_MAGIC or head[:4] == ARROW_STREAM_MAGIC:
        return _arrow(path, rows), False
    if head[:2] == GZIP_MAGIC:
        return csv_batches(path, "gzip", rows), True
    if head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" or head[:4] == b"PK\x03\x04":
        return None
    return csv_batches(path, None, rows), True


def _parquet(path: Path, rows: int, groups: Sequence[int] | None = None) -> Iterator[pa.Table]:
    """The file's tables (of its row groups ``groups`` only, when given)."""
    try:
        source = pq.ParquetFile(path)
        check_columns(path, source.schema_arrow.names)
        batches = parquet_batches(source, rows, groups)
        yield from _some_rows(path, rechunked(batches, rows), source.schema_arrow)
    except (pa.ArrowException, OSError) as error:
        raise InputError(path, f"cannot be read as Parquet: {error}") from error


def _arrow(path: Path, rows: int) -> Iterator[pa.Table]:
    with arrow_batches(path) as (schema, batches):
        check_columns(path, schema.names)
        yield from _some_rows(path, rechunked(batches, rows), schema)


def _some_rows(path: Path, tables: Iterator[pa.Table], schema: pa.Schema) -> Iterator[pa.Table]:
    """``tables``; none with a row: a columnar file of a schema and no rows (a quiet hour's
    export), which is read as a CSV of a header only is."""
    rows = 0
    for table in tables:
        if table.num_rows:
            rows += table.num_rows
            yield table
    if not rows:
        raise HeaderOnly(path, "file has no rows", schema_names(schema))

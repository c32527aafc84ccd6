"""Tabular input in CSV (any compression), Parquet or Arrow IPC, and Parquet output.

Parquet and Arrow IPC are recognised by their magic bytes (``PAR1``; ``ARROW1`` or a stream's
continuation marker), not by the file name. They go through the same caps as CSV (size,
columns, rows: :mod:`fedsec.data.readers._input`); column names come back trimmed and must be
unique. Values keep their types, so numbers need no parsing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from fedsec.core import atomic
from fedsec.core.errors import HeaderOnly, InputError
from fedsec.data.readers._csv_records import read_csv_chunks
from fedsec.data.readers._input import Limits, limits, require_file
from fedsec.data.readers._io import read_csv_checked

PARQUET_MAGIC = b"PAR1"
ARROW_FILE_MAGIC = b"ARROW1"
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"


def is_parquet(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == PARQUET_MAGIC


def is_arrow(path: Path) -> bool:
    """Whether the file is Arrow IPC (the file form, or the stream form)."""
    with open(path, "rb") as handle:
        head = handle.read(6)
    return head == ARROW_FILE_MAGIC or head[:4] == ARROW_STREAM_MAGIC


def read_frame(
    path: Path, *, allow_duplicates: Collection[str] = (), caps: Limits | None = None
) -> pd.DataFrame:
    """A CSV, Parquet or Arrow IPC file as a frame (row index = the row's position in the
    file)."""
    path = Path(path)
    require_file(path)
    if is_parquet(path):
        return read_parquet(path, caps or limits())
    if is_arrow(path):
        return read_arrow(path, caps or limits())
    return read_csv_checked(path, allow_duplicates=allow_duplicates, caps=caps)


def read_parquet(path: Path, caps: Limits) -> pd.DataFrame:
    """A Parquet file within the caps; a damaged file is an error naming it."""
    if path.stat().st_size > caps.max_bytes:
        raise InputError(path, f"is larger than the input cap of {caps.max_bytes} bytes")
    with _parquet(path, caps) as source:
        frame = source.read().to_pandas()
    if frame.empty:
        raise HeaderOnly(path, "file has no rows", [str(c).strip() for c in frame.columns])
    return _named(frame, path).reset_index(drop=True)


def read_arrow(path: Path, caps: Limits) -> pd.DataFrame:
    """An Arrow IPC file (file or stream form) within the caps, as one frame."""
    if path.stat().st_size > caps.max_bytes:
        raise InputError(path, f"is larger than the input cap of {caps.max_bytes} bytes")
    (frame,) = _arrow_frames(path, 1 << 62)  # one frame: its batches joined
    if caps.max_rows is not None and len(frame) > caps.max_rows:
        raise InputError(path, f"has more than {caps.max_rows} rows, the cap (FEDSEC_MAX_ROWS)")
    return frame.reset_index(drop=True)


def frame_chunks(
    path: Path, rows: int, *, allow_duplicates: Collection[str] = (), block_bytes: int = 1 << 20
) -> Iterator[pd.DataFrame]:
    """:func:`read_frame`'s frame in frames of ``rows`` rows, indexed by their row in the file
    (0-based): CSV block by block (:func:`read_csv_chunks`), Parquet batch by batch; the same
    checks, the size cap aside (it bounds what a whole read holds)."""
    path = Path(path)
    require_file(path)
    if is_arrow(path):
        yield from _arrow_frames(path, rows)
        return
    if not is_parquet(path):
        yield from read_csv_chunks(
            path, rows, allow_duplicates=allow_duplicates, block_bytes=block_bytes
        )
        return
    before = 0
    with _parquet(path, limits()) as source:
        for batch in parquet_batches(source, rows):
            frame = _named(batch.to_pandas(), path)
            frame.index = pd.RangeIndex(before, before + len(frame))
            before += len(frame)
            yield frame
        if before == 0:  # a quiet hour's export: its schema, no rows
            raise HeaderOnly(path, "file has no rows", schema_names(source.schema_arrow))


def _arrow_frames(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """An Arrow IPC file's rows as frames of ``rows`` rows, indexed by their row in the file;
    a schema and no rows is a header-only file."""
    before = 0
    with arrow_batches(path) as (schema, batches):
        check_columns(path, schema.names)
        for table in rechunked(batches, rows):
            if not table.num_rows:
                continue
            _check_row_cap(path, before + table.num_rows)
            frame = _named(table.to_pandas(), path)
            frame.index = pd.RangeIndex(before, before + len(frame))
            before += len(frame)
            yield frame
        if before == 0:
            raise HeaderOnly(path, "file has no rows", schema_names(schema))


@contextmanager
def arrow_batches(path: Path) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
    """An Arrow IPC file (file or stream form), memory-mapped: its schema and record batches;
    what reading it raises becomes an :class:`InputError` naming it."""
    try:
        with pa.memory_map(str(path)) as source:
            if source.read(6) == ARROW_FILE_MAGIC:
                source.seek(0)
                reader = ipc.open_file(source)
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            else:
                source.seek(0)
                reader = ipc.open_stream(source)
                batches = iter(reader)
            yield reader.schema, batches
    except (pa.ArrowException, OSError) as error:
        raise InputError(path, f"cannot be read as Arrow IPC: {error}") from error


def _check_row_cap(path: Path, seen: int) -> None:
    cap = limits().max_rows
    if cap is not None and seen > cap:
        raise InputError(path, f"has more than {cap} rows, the cap (FEDSEC_MAX_ROWS)")


def schema_names(schema: pa.Schema) -> list[str]:
    """A columnar file's column names, trimmed as a frame's are."""
    return [str(name).strip() for name in schema.names]


def parquet_batches(
    source: pq.ParquetFile, rows: int, groups: Sequence[int] | None = None
) -> Iterator[pa.RecordBatch]:
    """The file's record batches of at most ``rows`` rows (of the row groups ``groups`` only,
    when given), row group by row group: one reader over all row groups keeps ~30 MiB of each
    group it has passed (pyarrow 26; apache/arrow issue 39808 and its kin), so its memory would
    grow with the file."""
    for group in range(source.num_row_groups) if groups is None else groups:
        yield from source.iter_batches(batch_size=rows, row_groups=[group])


@contextmanager
def _parquet(path: Path, caps: Limits) -> Iterator[pq.ParquetFile]:
    """The file open as Parquet within the column and row caps; what reading it raises becomes
    an :class:`InputError` naming it."""
    try:
        source = pq.ParquetFile(path)
        meta = source.metadata
        if meta.num_columns > caps.max_columns:
            raise InputError(path, f"has {meta.num_columns} columns, more than the cap")
        if caps.max_rows is not None and meta.num_rows > caps.max_rows:
            raise InputError(path, f"has more than {caps.max_rows} rows, the cap (FEDSEC_MAX_ROWS)")
        yield source
    except (pa.ArrowException, OSError) as error:
        raise InputError(path, f"cannot be read as Parquet: {error}") from error


def _named(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The frame with its column names trimmed, which must be unique."""
    names = [str(c).strip() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(path, f"column names appear more than once: {', '.join(twice[:5])}")
    frame.columns = names
    return frame


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """A frame as Parquet (atomically; text columns as strings)."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic.write_bytes(Path(path), sink.getvalue().to_pybytes())
    return Path(path)


def rechunked(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of about ``rows`` rows: small batches joined, large ones sliced (no copy)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        for start in range(0, max(batch.num_rows, 1), rows):
            pending.append(batch.slice(start, rows))
            count += pending[-1].num_rows
            if count >= rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def check_columns(path: Path, names: list[str]) -> None:
    """A streamed file's column names: within the column cap, each named once (trimmed)."""
    cap = limits().max_columns
    if len(names) > cap:
        raise InputError(path, f"has {len(names)} columns, more than the cap of {cap}")
    trimmed = [str(name).strip() for name in names]
    twice = sorted({n for n in trimmed if trimmed.count(n) > 1})
    if twice:
        raise InputError(path, f"column names appear more than once: {', '.join(twice[:5])}")
    if any(not name for name in trimmed):
        raise InputError(path, "a column of the header has no name")

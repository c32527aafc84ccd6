"""Tabular input in either CSV (any compression) or Parquet, and Parquet output.

Parquet is recognised by its magic bytes (``PAR1``), not by the file name. It goes through the
same caps as CSV (size, columns, rows: :mod:`fedsec.data.readers._input`); column names come
back trimmed and must be unique. Values keep their Parquet types, so numbers need no parsing.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fedsec.core import atomic
from fedsec.core.errors import InputError
from fedsec.data.readers._input import Limits, limits
from fedsec.data.readers._io import read_csv_checked

PARQUET_MAGIC = b"PAR1"


def is_parquet(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == PARQUET_MAGIC


def read_frame(
    path: Path, *, allow_duplicates: Collection[str] = (), caps: Limits | None = None
) -> pd.DataFrame:
    """A CSV or Parquet file as a frame (row index = the row's position in the file)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    if is_parquet(path):
        return read_parquet(path, caps or limits())
    return read_csv_checked(path, allow_duplicates=allow_duplicates, caps=caps)


def read_parquet(path: Path, caps: Limits) -> pd.DataFrame:
    """A Parquet file within the caps; a damaged file is an error naming it."""
    if path.stat().st_size > caps.max_bytes:
        raise InputError(path, f"is larger than the input cap of {caps.max_bytes} bytes")
    try:
        meta = pq.ParquetFile(path).metadata
        if meta.num_columns > caps.max_columns:
            raise InputError(path, f"has {meta.num_columns} columns, more than the cap")
        if caps.max_rows is not None and meta.num_rows > caps.max_rows:
            raise InputError(path, f"has more than {caps.max_rows} rows, the cap (FEDSEC_MAX_ROWS)")
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise InputError(path, f"cannot be read as Parquet: {error}") from error
    if frame.empty:
        raise InputError(path, "file has no rows")
    names = [str(c).strip() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(path, f"column names appear more than once: {', '.join(twice[:5])}")
    frame.columns = names
    return frame.reset_index(drop=True)


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """A frame as Parquet (atomically; text columns as strings)."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic.write_bytes(Path(path), sink.getvalue().to_pybytes())
    return Path(path)

"""Streamed CSV chunks: small parser blocks (bounded parser memory) joined into chunks of about
the requested rows, every row once, in file order, typed from the file's first lines."""

import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import csv_arrow, read_flows
from fedsec.data.readers.chunks import read_chunks
from tests.data.readers.tables import assert_same_tables


def _flows(path, rows: int):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "duration_s": rng.exponential(1.0, rows).round(3),
            "fwd_bytes": rng.integers(40, 9000, rows),
            "bwd_bytes": rng.integers(0, 9000, rows),
            "fwd_pkts": rng.integers(1, 50, rows),
            "bwd_pkts": rng.integers(0, 50, rows),
            "protocol": rng.choice(["tcp", "udp"], rows),
            "dst_port": rng.choice([53, 80, 443, 8080], rows),
        }
    )
    frame.to_csv(path, index=False)
    return frame


def test_small_blocks_are_joined_into_chunks_of_the_requested_rows(tmp_path, monkeypatch):
    frame = _flows(tmp_path / "flows.csv", 5000)
    monkeypatch.setattr(csv_arrow, "CSV_BLOCK_BYTES", 2048)  # ~60 rows a block
    tables = list(read_chunks("flows", [tmp_path / "flows.csv"], rows=1000))
    sizes = [len(t) for t in tables]
    assert sum(sizes) == 5000 and len(tables) == 5
    assert all(1000 <= size < 1100 for size in sizes[:-1])
    rows = np.concatenate([t.source_row for t in tables])
    assert (rows == np.arange(1, 5001)).all()
    bytes_read = np.concatenate([t.canonical["fwd_bytes"].to_numpy() for t in tables])
    assert (bytes_read == frame["fwd_bytes"].to_numpy()).all()


def _arrow_peak(tables) -> tuple[int, int]:
    """(rows, the most bytes Arrow held at once) while ``tables`` are read and let go."""
    rows, peak = 0, 0
    for table in tables:
        rows += len(table)
        peak = max(peak, pa.total_allocated_bytes())
    return rows, peak


def test_a_parquet_files_memory_does_not_grow_with_its_row_groups(tmp_path):
    """One pyarrow reader over all row groups keeps part of each group it has passed; the
    chunks are read group by group, so Arrow's memory is that of one group, whatever the
    file's length."""
    frame = pd.concat([_flows(tmp_path / "flows.csv", 20_000)] * 20, ignore_index=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, tmp_path / "long.parquet", row_group_size=10_000)
    pq.write_table(table.slice(0, 40_000), tmp_path / "short.parquet", row_group_size=10_000)
    short = _arrow_peak(read_chunks("flows", [tmp_path / "short.parquet"], rows=5000))
    long = _arrow_peak(read_chunks("flows", [tmp_path / "long.parquet"], rows=5000))
    assert (short[0], long[0]) == (40_000, 400_000)
    assert long[1] < 1.5 * short[1]


def _edited(data: bytes, row: int, column: str, value: bytes) -> bytes:
    """The CSV with one data row's field replaced."""
    lines = data.split(b"\n")
    names = lines[0].split(b",")
    fields = lines[row + 1].split(b",")
    fields[names.index(column.encode())] = value
    lines[row + 1] = b",".join(fields)
    return b"\n".join(lines)


#: Edits of a flow CSV, each at data row ``row`` (4,500: past the types' sample): the streamed
#: read gives the whole read's table or refusal, word for word.
EDITS = {
    "a Latin-1 name": lambda d, row: _edited(d, row, "org", b"Soci\xe9t\xe9"),
    "a NUL byte": lambda d, row: _edited(d, row, "org", b"pl\x00nt"),
    "a hexadecimal count": lambda d, row: _edited(d, row, "fwd_pkts", b"0x1F"),
    "a count too large": lambda d, row: _edited(d, row, "fwd_pkts", b"9" * 400),
    "a field too many": lambda d, row: _edited(d, row, "org", b"plant,extra"),
    "a port written 443.0": lambda d, row: _edited(d, row, "dst_port", b"443.0"),
    "a quoted line break": lambda d, row: _edited(d, row, "org", b'"pl\nant"'),
    "the header repeated": lambda d, row: _inserted(d, row, d.split(b"\n", 1)[0]),
    "lone carriage returns": lambda d, row: d.replace(b"\n", b"\r"),
    "empty lines before the header": lambda d, row: b"\n\n" + d,
}


def _inserted(data: bytes, row: int, line: bytes) -> bytes:
    """The CSV with ``line`` before data row ``row``."""
    lines = data.split(b"\n")
    return b"\n".join([*lines[: row + 1], line, *lines[row + 1 :]])


@pytest.mark.parametrize("row", [7, 4500], ids=["in the type sample", "after it"])
@pytest.mark.parametrize("suffix", ["csv", "csv.gz"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_a_flow_csv_streams_as_it_reads_whole(tmp_path, monkeypatch, row, suffix, edit):
    """Arrow's path gives the whole read's rows or its refusal word for word: where its text
    or records are at fault (the byte, line and offset), where Arrow cannot parse or convert a
    block (the column, row and value as written, or the rows when the whole read takes them),
    where Arrow would read on (a NUL byte). Each of these used to be refused in other words
    (a UnicodeDecodeError, Arrow's column number without a row), or read differently."""
    data = EDITS[edit](
        _flows(tmp_path / "plain.csv", 5000).assign(org="plant").to_csv(index=False).encode(),
        row,
    )
    path = tmp_path / f"flows.{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith("gz") else data)
    monkeypatch.setattr(csv_arrow, "TYPE_SAMPLE_BYTES", 64 << 10)  # ~1,400 rows
    monkeypatch.setattr(csv_arrow, "CSV_BLOCK_BYTES", 16 << 10)
    try:
        whole, refusal = read_flows("flows", [path]), None
    except InputError as error:
        whole, refusal = None, str(error)
    try:
        streamed = list(read_chunks("flows", [path], rows=1000))
    except InputError as error:
        assert str(error) == refusal
        return
    assert refusal is None
    assert_same_tables(whole, streamed)

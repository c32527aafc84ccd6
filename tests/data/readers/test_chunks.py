"""Streamed CSV chunks: small parser blocks (bounded parser memory) joined into chunks of about
the requested rows, every row once, in file order, typed from the file's first lines."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fedsec.data.readers import chunks
from fedsec.data.readers.chunks import read_chunks


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
    monkeypatch.setattr(chunks, "CSV_BLOCK_BYTES", 2048)  # ~60 rows a block
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

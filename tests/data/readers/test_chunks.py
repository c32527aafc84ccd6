"""Streamed CSV chunks: small parser blocks (bounded parser memory) joined into chunks of about
the requested rows, every row once, in file order, typed from the file's first lines."""

import numpy as np
import pandas as pd

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

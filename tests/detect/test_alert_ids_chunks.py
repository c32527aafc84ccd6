"""Alert ids do not depend on how the input was cut into chunks (``--follow`` batches, pipe
blocks): on real CIC-IDS2017 rows, a text column empty in every row of one chunk (read as
float NaN there) or holding only digits in one chunk (read as numbers there) fingerprints as
in one chunk."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.fingerprints import content_id, id_digits, id_head, row_fingerprints
from tests.conftest import dataset


@pytest.fixture(scope="module")
def ddos_rows() -> pd.DataFrame:
    """The first 300 rows of CIC-IDS2017 DDoS as written (text)."""
    path = dataset("cic-ids2017/improved_rnd5000/DDoS_5000.csv.gz")
    return pd.read_csv(path, nrows=300, dtype=str, keep_default_na=False)


def _fingerprints(path: Path, rows: int) -> np.ndarray:
    """Every row's fingerprint, the file read ``rows`` rows at a time."""
    found = [
        row_fingerprints(table, np.arange(len(table)))
        for table in read_chunks("cicids2017", [path], rows=rows)
    ]
    return np.concatenate(found)


def _same_in_any_chunks(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)
    whole = _fingerprints(path, 1000)
    assert len(whole) == len(frame) == len(set(whole.tolist()))
    for rows in (50, 100, 128):
        assert (_fingerprints(path, rows) == whole).all(), rows


def test_sparse_text_column(ddos_rows, tmp_path):
    """Timestamp empty in the first 100 rows: float NaN in those chunks, text elsewhere."""
    frame = ddos_rows.copy()
    frame.loc[:99, "Timestamp"] = ""
    _same_in_any_chunks(frame, tmp_path / "sparse.csv")


def test_digits_in_text_column(ddos_rows, tmp_path):
    """Flow ID only digits ("0123") in the first 100 rows: numbers in those chunks."""
    frame = ddos_rows.copy()
    frame.loc[:99, "Flow ID"] = [f"0{n}" for n in range(100, 200)]
    _same_in_any_chunks(frame, tmp_path / "digits.csv")


def test_an_alerts_id_is_the_same_alone_or_in_its_chunk(ddos_rows, tmp_path):
    """The record path's id (one alert) is the column-wise one (the chunk's alerts)."""
    ddos_rows.to_csv(tmp_path / "rows.csv", index=False)
    [table] = read_chunks("cicids2017", [tmp_path / "rows.csv"], rows=1000)
    rows = np.arange(len(table))
    fingerprints, places = row_fingerprints(table, rows), table.source_row[rows]
    head = id_head("ab" * 32, "plant")
    together = id_digits(head, fingerprints, places).decode()
    alone = [content_id(head, int(f), int(r)) for f, r in zip(fingerprints, places, strict=True)]
    assert "".join(alone) == together and len(set(alone)) == len(rows)

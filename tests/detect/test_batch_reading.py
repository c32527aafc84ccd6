"""A batch of a followed file's or a pipe's lines: read as the whole file would be; with a
rejects file, its malformed lines are set aside (found by halving) and every other row read;
too many refused lines still end the run."""

from __future__ import annotations

import json

import pytest

from fedsec.core.errors import InputError
from fedsec.detect.batch_reading import REFUSED_PER_BATCH, Rejects, batch_tables
from fedsec.detect.tails import Batch
from tests.detect.simulated_flows import flows_csv  # noqa: F401 (fixture)


def _batch(flows_csv, bad_rows: set[int], rows: int = 400):  # noqa: F811
    """The first ``rows`` data rows of the flows, those numbered in ``bad_rows`` (from 1) with
    a word in a numeric column; 1000 rows read before them."""
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    header = lines[0].decode().rstrip("\n").split(",")
    column = header.index("fwd_bytes")
    body = []
    for number, line in enumerate(lines[1 : rows + 1], 1):
        if number in bad_rows:
            cells = line.decode().rstrip("\n").split(",")
            cells[column] = "lots"
            line = (",".join(cells) + "\n").encode()
        body.append(line)
    return Batch([lines[0]], body, 1000)


def test_without_a_rejects_file_a_malformed_line_refuses_the_batch(flows_csv, tmp_path):  # noqa: F811
    batch = _batch(flows_csv, {150})
    with pytest.raises(InputError, match=r"conn\.log: data rows 1001-1400: column 'fwd_bytes'"):
        batch_tables(batch, tmp_path / "batch.csv", tmp_path / "conn.log", "flows", None)


def test_a_refused_batch_names_the_row_as_the_stream_numbers_it(flows_csv, tmp_path):  # noqa: F811
    batch = _batch(flows_csv, {150})
    with pytest.raises(InputError, match=r"'lots' \(data row 1150; 1 such rows\)"):
        batch_tables(batch, tmp_path / "batch.csv", tmp_path / "conn.log", "flows", None)


def test_malformed_lines_are_set_aside_and_every_other_row_read(flows_csv, tmp_path):  # noqa: F811
    rejects = Rejects(tmp_path / "rejects.jsonl")
    batch = _batch(flows_csv, {1, 150, 151, 400})
    tables = batch_tables(batch, tmp_path / "b.csv", tmp_path / "conn.log", "flows", None, rejects)
    rows = [row for table in tables for row in table.source_row.tolist()]
    assert rows == [r + 1000 for r in range(1, 401) if r not in {1, 150, 151, 400}]
    rejects.close()
    kept = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["data_row"] for r in kept] == [1001, 1150, 1151, 1400] and rejects.count == 4
    assert all("'lots'" in r["problem"] and ",lots," in r["line"] for r in kept)
    # the reader's words number the row as the record does, not as the staged line's file
    assert [r["problem"].split("(data row ")[1].split(";")[0] for r in kept] == [
        str(r["data_row"]) for r in kept
    ]


def test_a_batch_of_refused_lines_is_no_poison_line_but_the_wrong_format(flows_csv, tmp_path):  # noqa: F811
    rejects = Rejects(tmp_path / "rejects.jsonl")
    batch = _batch(flows_csv, set(range(1, 301)), rows=300)
    with pytest.raises(InputError, match=f"more than {REFUSED_PER_BATCH} lines refused"):
        batch_tables(batch, tmp_path / "b.csv", tmp_path / "conn.log", "flows", None, rejects)
    assert rejects.count == REFUSED_PER_BATCH

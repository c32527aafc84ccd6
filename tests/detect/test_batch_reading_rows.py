"""A refused line's ``problem`` names the row its record names: the reader's "line N" of the
staged batch (header first) is the stream's data row (before, a garbage line set aside as data
row 1263 read "line 2 has 2 fields", the one-line staging file's line)."""

from __future__ import annotations

import json

import pytest

from fedsec.core.errors import InputError
from fedsec.detect.batch_reading import Rejects, as_rows, batch_tables
from fedsec.detect.tails import Batch

HEADER = b"duration_s,fwd_bytes,bwd_bytes,fwd_pkts,bwd_pkts,protocol,dst_port\n"
GOOD = b"0.5,100,200,3,4,tcp,80\n"


def test_the_staged_line_is_named_as_the_stream_row():
    batch = Batch([HEADER], [GOOD, b"garbage,line\n"], 1261)
    assert as_rows("line 3 has 2 fields, the header has 7", batch) == (
        "data row 1263 has 2 fields, the header has 7"
    )
    assert as_rows("line 1 is not CSV", batch) == "header line 1 is not CSV"
    assert as_rows("'x' (data row 2; 1 such rows)", batch) == "'x' (data row 1263; 1 such rows)"


def test_a_garbage_line_set_aside_names_its_data_row(tmp_path):
    rejects = Rejects(tmp_path / "rej.jsonl")
    batch = Batch([HEADER], [GOOD] * 5 + [b"garbage,line\n"] + [GOOD] * 5, 1257)
    batch_tables(batch, tmp_path / "b.csv", tmp_path / "f.csv", "flows", None, rejects)
    rejects.close()
    [kept] = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert kept["data_row"] == 1263
    assert kept["problem"].startswith("data row 1263 has 2 fields")


def test_a_refused_batch_names_the_garbage_line_by_its_row(tmp_path):
    batch = Batch([HEADER], [GOOD] * 5 + [b"garbage,line\n"], 1257)
    with pytest.raises(InputError, match=r"data rows 1258-1263: data row 1263 has 2 fields"):
        batch_tables(batch, tmp_path / "b.csv", tmp_path / "f.csv", "flows", None)

"""``read_chunks(..., header_only=found)``: a CSV of a header only (a quiet hour) is given as a
table of no rows, its header read by the format's own reader, so a missing column is refused
as in a file with rows; without ``header_only`` it is refused as before, and an empty file
always is. A real CIC-IDS2017 header, and a Zeek conn.log's (its ``#fields``)."""

from __future__ import annotations

import gzip

import pytest

from fedsec.core.errors import EmptyInput, HeaderOnly, InputError
from fedsec.data.readers.chunks import read_chunks
from tests.conftest import dataset
from tests.data.readers.test_reader_zeek import HEADER, conn_log

CIC = "cic-ids2017/improved_rnd5000/Portscan_5000.csv.gz"


@pytest.fixture
def header(tmp_path):
    with gzip.open(dataset(CIC), "rt") as source:
        line = source.readline()
    path = tmp_path / "quiet.csv"
    path.write_text(line)
    return path


def test_a_header_only_csv_is_a_table_of_no_rows(header):
    found: list = []
    tables = list(read_chunks("cicids2017", [header], header_only=found))
    assert found == [header] and [len(t) for t in tables] == [0]
    assert {"src_ip", "dst_port"} <= set(tables[0].context.columns)
    with pytest.raises(HeaderOnly, match="header but no rows"):
        list(read_chunks("cicids2017", [header]))


def test_its_header_is_checked_and_an_empty_file_refused(header, tmp_path):
    names = header.read_text().rstrip("\n").split(",")
    partial = tmp_path / "partial.csv"
    partial.write_text(",".join(n for n in names if n.strip() != "Flow Duration") + "\n")
    with pytest.raises(InputError) as refused:
        list(read_chunks("cicids2017", [partial], header_only=[]))
    assert "missing required columns: Flow Duration" in str(refused.value)
    assert not isinstance(refused.value, EmptyInput)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(EmptyInput, match="file is empty"):
        list(read_chunks("cicids2017", [empty], header_only=[]))


def test_a_zeek_log_of_its_header_only_is_a_table_of_no_rows(tmp_path):
    quiet, partial = tmp_path / "conn.log", tmp_path / "partial.log"
    quiet.write_text(conn_log([]))
    found: list = []
    tables = list(read_chunks("zeek", [quiet], header_only=found))
    assert found == [quiet] and [len(t) for t in tables] == [0]
    assert {"src_ip", "dst_port"} <= set(tables[0].context.columns)
    with pytest.raises(HeaderOnly, match="header but no rows"):
        list(read_chunks("zeek", [quiet]))
    partial.write_text(conn_log([], HEADER.replace("\tproto\t", "\t").replace("\tenum\t", "\t")))
    with pytest.raises(InputError) as refused:
        list(read_chunks("zeek", [partial], header_only=[]))
    assert "proto" in str(refused.value) and not isinstance(refused.value, EmptyInput)

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
from tests.data.readers.zeek_logs import HEADER, conn_log

CIC = "cic-ids2017/improved_rnd5000/Portscan_5000.csv.gz"


@pytest.fixture
def header(tmp_path):
    with gzip.open(dataset(CIC), "rt") as source:
        line = source.readline()
    path = tmp_path / "quiet.csv"
    path.write_text(line)
    return path


def _no_rows(fmt: str, quiet, refused: str) -> None:
    """``quiet`` (a header only) is one table of no rows, with its context columns, when
    header-only files are taken, and refused (``refused``: a pattern of the words) when not."""
    found: list = []
    tables = list(read_chunks(fmt, [quiet], header_only=found))
    assert found == [quiet] and [len(t) for t in tables] == [0]
    assert {"src_ip", "dst_port"} <= set(tables[0].context.columns)
    with pytest.raises(HeaderOnly, match=refused):
        list(read_chunks(fmt, [quiet]))


def _refusal(fmt: str, partial) -> str:
    """Why the header-only ``partial`` is refused (a missing column: never an empty file)."""
    with pytest.raises(InputError) as refused:
        list(read_chunks(fmt, [partial], header_only=[]))
    assert not isinstance(refused.value, EmptyInput)
    return str(refused.value)


def test_a_header_only_csv_is_a_table_of_no_rows(header):
    _no_rows("cicids2017", header, "header but no rows")


def test_its_header_is_checked_and_an_empty_file_refused(header, tmp_path):
    names = header.read_text().rstrip("\n").split(",")
    partial = tmp_path / "partial.csv"
    partial.write_text(",".join(n for n in names if n.strip() != "Flow Duration") + "\n")
    assert "missing required columns: Flow Duration" in _refusal("cicids2017", partial)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(EmptyInput, match="file is empty"):
        list(read_chunks("cicids2017", [empty], header_only=[]))


def test_a_zeek_log_of_its_header_only_is_a_table_of_no_rows(tmp_path):
    quiet, partial = tmp_path / "conn.log", tmp_path / "partial.log"
    quiet.write_text(conn_log([]))
    _no_rows("zeek", quiet, "header but no rows")
    partial.write_text(conn_log([], HEADER.replace("\tproto\t", "\t").replace("\tenum\t", "\t")))
    assert "proto" in _refusal("zeek", partial)


def _columnar(frame, path, container: str):
    """``frame`` written as Parquet, or an Arrow IPC file or stream."""
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if container == "parquet":
        pq.write_table(table, path)
        return path
    with pa.OSFile(str(path), "wb") as sink:
        opened = ipc.new_file if container == "arrow file" else ipc.new_stream
        with opened(sink, table.schema) as writer:
            writer.write_table(table)
    return path


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    """A simulated organization's canonical flows (``--format flows``: CSV, Parquet or Arrow)."""
    import pandas as pd

    from fedsec.simulator import load_simulation, simulate
    from fedsec.simulator.output import write_dataset

    root = tmp_path_factory.mktemp("sim")
    write_dataset(simulate(load_simulation("consortium", ["flows=1000"])), root, "flows")
    return pd.read_csv(sorted(root.glob("*/flows-*.csv"))[0])


@pytest.mark.parametrize("container", ["parquet", "arrow file", "arrow stream"])
def test_a_columnar_file_of_no_rows_is_read_as_a_header_only_csv(canonical, tmp_path, container):
    """A quiet hour exported as Parquet or Arrow: its schema, no rows (before: refused, "file
    has no rows" or "no rows")."""
    frame = canonical.iloc[:0]
    quiet = _columnar(frame, tmp_path / "quiet.bin", container)
    _no_rows("flows", quiet, "no rows")
    partial = _columnar(frame.drop(columns=["fwd_bytes"]), tmp_path / "p.bin", container)
    assert "fwd_bytes" in _refusal("flows", partial)
    rows = _columnar(canonical.iloc[:7], tmp_path / "rows.bin", container)
    assert [len(t) for t in read_chunks("flows", [rows], header_only=[])] == [7]

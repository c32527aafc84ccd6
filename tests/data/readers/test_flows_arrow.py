"""The canonical flow table built from Arrow batches is the one ``from_frame`` builds from the
same batch's pandas frame (the streamed read before it): every column, dtype and value, on real
flows (a CIC-IDS2017 slice with its addresses, ports and times; a simulated consortium) in every
container, and the same refusal, word for word, on bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from fedsec.core.errors import InputError
from fedsec.data.canonical import BASE_NUMERIC, service_from_port
from fedsec.data.flows import FlowTable
from fedsec.data.readers import chunks, csv_arrow, flows, flows_arrow, read_flows
from fedsec.data.readers._tables import write_parquet
from fedsec.data.readers.chunks import read_chunks
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.conftest import dataset

CIC = ("BENIGN_5000.csv.gz", "DoS_Hulk_5000.csv.gz", "Botnet_736.csv.gz", "SSH-Patator_2961.csv.gz")
FRAMES = ("native", "canonical", "context")
ARRAYS = ("family", "label", "origin", "source_file", "source_row")


def assert_same_table(new: FlowTable, old: FlowTable) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)
    for name in ARRAYS:
        a, b = getattr(new, name), getattr(old, name)
        assert a.dtype == b.dtype and a.tolist() == b.tolist(), name
    for name in ("source", "native_categorical", "unknown_labels", "notes", "files", "split"):
        assert getattr(new, name) == getattr(old, name), name


def outcome(read) -> FlowTable | str:
    """The table read, or the refusal's text."""
    try:
        return read()
    except InputError as error:
        return str(error)


def compare_batches(path: Path, rows: int) -> list[bool]:
    """Each batch of ``path`` read both ways (same table, or same refusal); whether the Arrow
    path read it itself (rather than handing it to ``from_frame``)."""
    found = chunks._batches(path, rows)
    assert found is not None
    batches, _ = found
    first, native = 0, []
    for batch in batches:
        new = outcome(lambda: flows_arrow.from_arrow(batch, path, first))  # noqa: B023
        frame = flows_arrow.pandas_frame(batch, first)
        old = outcome(lambda: flows.from_frame(frame, path))  # noqa: B023
        if isinstance(old, str):
            assert new == old
        else:
            assert_same_table(new, old)
        itself = outcome(lambda: flows_arrow._table(batch, path, first))  # noqa: B023
        native.append(isinstance(itself, FlowTable))
        first += batch.num_rows
    return native


def containers(frame: pd.DataFrame, folder: Path) -> list[Path]:
    """``frame`` as a flow CSV, gzip CSV, Parquet and Arrow IPC file."""
    csv = folder / "flows.csv"
    frame.to_csv(csv, index=False)
    gz = folder / "flows.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    parquet = write_parquet(frame, folder / "flows.parquet")
    arrow = folder / "flows.arrow"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(arrow), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=3000):
            writer.write_batch(batch)
    return [csv, gz, parquet, arrow]


@pytest.fixture(scope="module")
def cic_flows() -> pd.DataFrame:
    """Real CIC-IDS2017 flows (benign, DoS, botnet, brute force) as a canonical flow file: their
    counters and flags, protocol (names, and numbers on every third row), real addresses,
    ports and times, family and the dataset's own label."""
    paths = [dataset("cic-ids2017/improved_rnd5000") / name for name in CIC]
    table = read_flows("cicids2017", paths)
    frame = table.canonical[list(BASE_NUMERIC)].copy()
    numbers = {"tcp": "6", "udp": "17", "icmp": "1"}
    protocol = table.canonical["protocol"].astype(str)
    frame["protocol"] = protocol.where(np.arange(len(frame)) % 3 > 0, protocol.map(numbers))
    frame["protocol"] = frame["protocol"].fillna(protocol)
    for column in ("timestamp", "src_ip", "src_port", "dst_ip", "dst_port", "flow_id"):
        frame[column] = table.context[column].to_numpy()
    frame["family"], frame["label"] = table.family, table.label
    frame["org"] = np.where(np.arange(len(frame)) % 2, "office", "plant")
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_real_cic_flows_read_the_same_in_every_container(cic_flows, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_arrow, "CSV_BLOCK_BYTES", 1 << 16)
    assert cic_flows["flag_syn"].isna().sum() == 0 and cic_flows["protocol"].nunique() >= 4
    for path in containers(cic_flows, tmp_path):
        native = compare_batches(path, 4096)
        assert len(native) >= 3 and all(native), path  # read by the Arrow path itself


def test_simulated_flows_read_the_same_with_and_without_labels(tmp_path):
    write_dataset(simulate(load_simulation("consortium", ["flows=3000"])), tmp_path / "d")
    files = sorted((tmp_path / "d").glob("*/flows-*.csv"))
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    assert {"campaign", "org", "flag_syn", "family", "label"} <= set(frame.columns)
    for labels in (["family", "label"], ["label"], []):
        kept = frame.drop(columns=[c for c in ("family", "label") if c not in labels])
        (tmp_path / "one").mkdir(exist_ok=True)
        path = containers(kept, tmp_path / "one")[0]
        assert all(compare_batches(path, 2000))


HEADER = (
    "duration_s,fwd_bytes,bwd_bytes,fwd_pkts,bwd_pkts,protocol,src_port,dst_port,flag_syn,label"
)
GOOD = ["0.5,1200,5400,8,9,tcp,51000,443,1,benign", "0,60,0,1,0,6,,31337,,T1046"]


@pytest.mark.parametrize(
    ("bad_row", "handed_over"),
    [
        ("0.1,70,150,1,1,udp,53000,53,1,gremlins", True),  # a label outside the taxonomy
        ("0.1,70,150,1,1, ,53000,53,1,benign", True),  # no protocol
        ("0.1,70,150,1,1,300,53000,53,1,benign", True),  # not a protocol number
        ("0.1,-70,150,1,1,udp,53000,53,1,benign", True),  # negative bytes
        ("0.1,70,150,1,1,udp,53000,70000,1,benign", True),  # not a port
        ("0.1,70,150,1,1,udp,53000,53.5,1,benign", True),  # not a whole port
        ("0.1,70,150,1,,udp,53000,53,1,benign", True),  # a required count missing
        ("0.1,70,150,1,1,udp,53000,53,inf,benign", False),  # a flag that is no number: unknown
        ("0.1,70,150,1,1,17,53000,,0,benign", False),  # no port: service unknown
    ],
)
def test_odd_rows_read_or_are_refused_as_from_frame_does(tmp_path, bad_row, handed_over):
    """The odd row in the second batch: the same table or refusal (its data row counted in
    the file, not in the batch), the batch handed to ``from_frame`` when refused."""
    path = tmp_path / "flows.csv"
    path.write_text("\n".join([HEADER, *GOOD * 3, bad_row, *GOOD]) + "\n")
    native = compare_batches(path, 4)
    assert native == [True, not handed_over, True]


def test_checks_kept_from_chunk_to_chunk_follow_each_chunks_own_values(tmp_path):
    """The protocol and label checks are kept per distinct values from one chunk to the next:
    chunks holding the same values in another order read as ``from_frame`` reads them, and a
    refused value is refused in every chunk that holds it, on the first read and the next."""
    bad = "0.1,70,150,1,1,300,53000,53,1,benign"
    flipped = [GOOD[1], GOOD[0]]
    path = tmp_path / "flows.csv"
    path.write_text("\n".join([HEADER, *GOOD, *flipped, bad, GOOD[1], GOOD[0], bad]) + "\n")
    flows_arrow._CHECKED.clear()
    for _ in range(2):
        assert compare_batches(path, 2) == [True, True, False, False]


def test_many_distinct_values_are_checked_but_not_kept(tmp_path, monkeypatch):
    """A chunk with more distinct protocols or labels than are kept (free text, say) is read
    the same, and nothing of it stays in memory after the read."""
    monkeypatch.setattr(flows_arrow, "KEPT_ROWS", 1)
    path = tmp_path / "flows.csv"
    path.write_text("\n".join([HEADER, *GOOD * 3]) + "\n")
    flows_arrow._CHECKED.clear()
    assert compare_batches(path, 2) == [True, True, True]
    assert not flows_arrow._CHECKED


def test_the_refusal_names_the_data_row_in_the_file(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_text("\n".join([HEADER, *GOOD * 3, "0.1,70,150,1,1, ,53000,53,1,benign"]) + "\n")
    with pytest.raises(InputError, match="column 'protocol' has no value in data row 7"):
        list(read_chunks("flows", [path], rows=4))


def test_column_names_to_trim_and_text_columns_go_to_from_frame(tmp_path):
    padded = tmp_path / "padded.csv"
    padded.write_text("\n".join([HEADER.replace("fwd_bytes", " fwd_bytes"), *GOOD]) + "\n")
    words = tmp_path / "words.csv"
    words.write_text("\n".join([HEADER, *GOOD, "0.1,many,150,1,1,udp,53000,53,1,benign"]) + "\n")
    assert compare_batches(padded, 100) == [False]
    assert compare_batches(words, 100) == [False]


def test_columns_with_no_value_at_all_read_as_unknown(tmp_path):
    """Arrow types a column without any value as null: flags unknown, ports missing."""
    path = tmp_path / "flows.csv"
    rows = ["0.5,1200,5400,8,9,tcp,,443,,benign", "0,60,0,1,0,udp,,53,,benign"]
    path.write_text("\n".join([HEADER, *rows * 4]) + "\n")
    assert compare_batches(path, 3) == [True, True, True]
    table = flows_arrow.from_arrow(next(iter(chunks._batches(path, 8)[0])), path, 0)
    assert table.canonical["flag_syn"].isna().all() and table.context["src_port"].isna().all()


def test_the_service_table_is_service_from_port_on_every_port():
    ports = pd.Series([*range(65_536), np.nan])
    expected = service_from_port(ports).to_numpy(dtype=object)
    assert flows_arrow._services().tolist() == expected.tolist()

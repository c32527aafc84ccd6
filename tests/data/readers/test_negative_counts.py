"""A negative byte count, packet count or duration is refused by the flow readers (Zeek ASCII
and JSON logs, NetFlow v2, UNSW-NB15, NSL-KDD), naming the file, column and data row, as the
canonical flow CSV refuses it; before, such rows were scored silently. So does a mapped file for
the columns its mapping gives a canonical count (bytes, packets, flags). (CIC-IDS2017 keeps its
own: its original day files hold negative durations.)"""

import json

import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.mapping import parse_mapping
from fedsec.data.readers import read_flows
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.conftest import dataset
from tests.data.readers.tables import zeek_refusal

NF_V2 = "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"
UNSW = "unsw-nb15/UNSW_NB15_training-set.csv.gz"
NSL_KDD = "nsl-kdd/KDDTest+.txt.gz"


@pytest.fixture(scope="module")
def conn_log(tmp_path_factory) -> str:
    """A simulated organization's busiest day's conn.log (the demo's simulator, Zeek ASCII)."""
    folder = tmp_path_factory.mktemp("zeek")
    write_dataset(simulate(load_simulation("consortium", ["flows=4000"])), folder, "zeek")
    return max(folder.glob("grid/conn.*.log"), key=lambda p: p.stat().st_size).read_text()


def _with_value(log: str, field: str, value: str, data_row: int) -> str:
    """``log`` with ``field`` of its ``data_row`` (1-based) set to ``value``."""
    lines = log.split("\n")
    fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    data = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    parts = lines[data[data_row - 1]].split("\t")
    parts[fields.index(field)] = value
    lines[data[data_row - 1]] = "\t".join(parts)
    return "\n".join(lines)


@pytest.mark.parametrize("field", ["duration", "orig_bytes", "resp_ip_bytes", "orig_pkts"])
def test_a_zeek_log_with_a_negative_counter_is_refused(conn_log, field, tmp_path, monkeypatch):
    path = tmp_path / "conn.log"
    path.write_text(_with_value(conn_log, field, "-5", 60))
    message = zeek_refusal(path, monkeypatch)  # whole and streamed alike
    assert f"negative values in {field} ('{field}' holds -5 in data row 60; 1 such rows)" in (
        message
    )
    assert str(path) in message


def _json_records(log: str) -> list[dict]:
    """The ASCII log's rows as Zeek's JSON writer writes them (numbers as numbers)."""
    lines = log.split("\n")
    fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    numbers = {"ts", "duration", "orig_bytes", "resp_bytes", "missed_bytes", "orig_pkts"}
    numbers |= {"orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "id.orig_p", "id.resp_p"}
    records = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        record = {}
        for name, value in zip(fields, line.split("\t"), strict=True):
            if value != "-":
                record[name] = float(value) if name in numbers else value
        record["id.orig_p"], record["id.resp_p"] = (
            int(record["id.orig_p"]),
            int(record["id.resp_p"]),
        )
        records.append(record)
    return records


def test_a_zeek_json_log_with_a_negative_counter_is_refused(conn_log, tmp_path, monkeypatch):
    records = _json_records(conn_log)
    path = tmp_path / "conn.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert len(read_flows("zeek", [path])) == len(records)  # the log as it is reads
    records[40]["orig_ip_bytes"] = -1500.0
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    message = zeek_refusal(path, monkeypatch)
    assert "negative values in orig_ip_bytes ('orig_ip_bytes' holds -1500 in data row 41" in (
        message
    )


@pytest.mark.parametrize(
    ("fmt", "source", "column", "row"),
    [("nf-v2", NF_V2, c, 120) for c in ["IN_BYTES", "OUT_PKTS", "FLOW_DURATION_MILLISECONDS"]]
    + [("unsw-nb15", UNSW, c, 250) for c in ["dur", "sbytes", "dpkts"]],
)
def test_a_flow_file_with_a_negative_counter_is_refused(fmt, source, column, row, tmp_path):
    """NetFlow v2 and UNSW-NB15 files: one counter made negative in one real row."""
    frame = pd.read_csv(dataset(source), nrows=300)
    frame[column] = frame[column].astype(float)
    frame.loc[row, column] = -3.0
    path = tmp_path / "flows.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as refused:
        read_flows(fmt, [path])
    assert refused.value.path == path
    expected = f"negative values in {column} ('{column}' holds -3 in data row {row + 1}"
    assert expected in str(refused.value)


@pytest.mark.parametrize(("field", "name"), [(0, "duration"), (5, "dst_bytes")])
def test_an_nsl_kdd_file_with_a_negative_counter_is_refused(field, name, tmp_path):
    frame = pd.read_csv(dataset(NSL_KDD), header=None, nrows=300)
    frame[field] = frame[field].astype(float)
    frame.loc[99, field] = -1.0
    path = tmp_path / "kdd.txt"
    frame.to_csv(path, header=False, index=False)
    assert len(read_flows("nsl-kdd", [dataset(NSL_KDD)])) == 22_544  # the real file reads
    with pytest.raises(InputError) as refused:
        read_flows("nsl-kdd", [path])
    assert f"negative values in {name} ('{name}' holds -1 in data row 100" in str(refused.value)


SOC_EXPORT = """ts,bytes_out,bytes_in,pkts_out,duration_ms,syn_count,verdict
2024-01-01T00:00:00Z,100,200,3,-5,1,Normal
2024-01-01T00:00:01Z,50,20,2,1,1,scan
"""
SOC_MAPPING = {
    "label": "verdict",
    "context": ["ts"],
    "canonical": {
        "fwd_bytes": "bytes_out",
        "bwd_bytes": "bytes_in",
        "fwd_pkts": "pkts_out",
        "flag_syn": "syn_count",
        "duration_s": {"column": "duration_ms", "scale": 1e-3},
    },
}


@pytest.mark.parametrize("column", ["bytes_out", "bytes_in", "pkts_out", "syn_count"])
def test_a_mapped_file_with_a_negative_canonical_count_is_refused(column, tmp_path):
    """A mapped file's negative byte count became a negative canonical fwd_bytes and rate."""
    mapping = parse_mapping(SOC_MAPPING, "m.toml")
    path = tmp_path / "soc.csv"
    path.write_text(SOC_EXPORT)
    assert len(read_flows("mapped", [path], mapping)) == 2  # a negative duration reads as 0
    frame = pd.read_csv(path)
    frame.loc[1, column] = -7
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"soc.csv: negative values in {column} "):
        read_flows("mapped", [path], mapping)

"""generate -> write -> read for each format: same rows, labels, families, canonical features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fedsec.data.canonical import BASE_NUMERIC, CANONICAL_COLUMNS, service_from_port
from fedsec.data.readers import read_flows
from fedsec.data.writers import write_records
from fedsec.data.writers.zeek import history_codes

#: Columns each format cannot carry exactly: NetFlow durations are whole milliseconds,
#: Zeek does not record URG.
TOLERANCE = {"flows": 1e-6, "nf-v2": 1e-3, "zeek": 1e-6}
NAMES = {"flows": "flows.csv", "nf-v2": "netflow.csv", "zeek": "conn.log"}


def expected_canonical(records: pd.DataFrame) -> pd.DataFrame:
    from fedsec.data.canonical import finish_canonical

    base = records[[*BASE_NUMERIC, "protocol"]].copy()
    base["service"] = service_from_port(records["dst_port"])
    return finish_canonical(base)


@pytest.mark.parametrize("fmt", ["flows", "nf-v2", "zeek"])
def test_round_trip(fmt: str, records: pd.DataFrame, tmp_path) -> None:
    path = write_records(fmt, records, tmp_path / NAMES[fmt])
    table = read_flows(fmt, [path])
    assert len(table) == len(records)
    benign = (records["label"] == "benign").to_numpy()
    assert (table.label[~benign] == records["label"].to_numpy()[~benign]).all()
    assert all(str(label).lower() == "benign" for label in table.label[benign])
    assert (table.family == records["family"].to_numpy()).all()
    expected = expected_canonical(records)
    got = table.canonical
    assert list(got.columns) == list(CANONICAL_COLUMNS)
    assert (got["protocol"] == expected["protocol"]).all()
    assert (got["service"] == expected["service"]).all()
    for column in ("fwd_bytes", "bwd_bytes", "fwd_pkts", "bwd_pkts"):
        np.testing.assert_array_equal(got[column], expected[column], err_msg=column)
    np.testing.assert_allclose(got["duration_s"], expected["duration_s"], atol=TOLERANCE[fmt])
    flags = ["flag_syn", "flag_ack", "flag_fin", "flag_rst", "flag_psh"]
    np.testing.assert_array_equal(got[flags], expected[flags])
    tcp = (records["protocol"] == "tcp").to_numpy()
    if fmt == "zeek":
        assert got.loc[tcp, "flag_urg"].isna().all()
        assert (got.loc[~tcp, "flag_urg"] == 0).all()
    else:
        np.testing.assert_array_equal(got["flag_urg"], expected["flag_urg"])
    for column in ("fwd_pkt_size", "bwd_pkt_size"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9)
    context = table.context
    assert (context["src_ip"].astype(str) == records["src_ip"].to_numpy()).all()
    assert (context["dst_port"].astype(int) == records["dst_port"].to_numpy()).all()
    if fmt in ("flows", "zeek"):
        campaign = context["campaign"].fillna("-").to_numpy()  # Zeek: '-' is the unset marker
        assert (campaign == records["campaign"].to_numpy()).all()


def test_flows_csv_keeps_the_organization_as_origin(records, tmp_path) -> None:
    path = write_records("flows", records, tmp_path / "all.csv")
    table = read_flows("flows", [path])
    assert (table.origin == records["org"].to_numpy()).all()


def test_nf_v2_has_the_standard_fields(records, tmp_path) -> None:
    path = write_records("nf-v2", records.head(50), tmp_path / "nf.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert len(header) == 43 + 3  # 43 NetFlow fields, FLOW_START_MILLISECONDS, Label, Attack
    assert header[-2:] == ["Label", "Attack"]
    frame = pd.read_csv(path)
    benign = records.head(50)["label"].eq("benign").to_numpy()
    assert (frame["Label"].to_numpy() == np.where(benign, 0, 1)).all()


def test_zeek_history_round_trips_every_flag_combination() -> None:
    from fedsec.data.readers.zeek import HISTORY_FLAGS

    for mask in range(32):
        history, _ = history_codes(mask, answered=True)
        letters = {"syn": 2, "ack": 16, "fin": 1, "rst": 4, "psh": 8}
        for flag, bit in letters.items():
            found = any(c in history for c in HISTORY_FLAGS[flag] + ("S" if flag == "syn" else ""))
            assert found == bool(mask & bit), (mask, history, flag)


def test_zeek_log_looks_like_zeek(records, tmp_path) -> None:
    path = write_records("zeek", records.head(200), tmp_path / "conn.log")
    lines = path.read_text().splitlines()
    assert lines[0] == "#separator \\x09"
    assert lines[-1].startswith("#close\t")
    fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    assert fields[:3] == ["ts", "uid", "id.orig_h"] and fields[-3:-1] == ["label", "detailed-label"]
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    assert all(len(row) == len(fields) for row in rows)
    packets = [fields.index("orig_pkts"), fields.index("resp_pkts")]
    single = [r for r in rows if sum(int(r[i]) for i in packets) == 1]
    assert single and all(r[fields.index("duration")] == "-" for r in single)


def test_flows_in_parquet_read_back_as_the_csv_does(records: pd.DataFrame, tmp_path) -> None:
    parquet = write_records("flows", records, tmp_path / "flows.parquet")
    assert parquet.read_bytes()[:4] == b"PAR1"
    from_csv = read_flows("flows", [write_records("flows", records, tmp_path / "flows.csv")])
    from_parquet = read_flows("flows", [parquet])
    pd.testing.assert_frame_equal(from_parquet.canonical, from_csv.canonical)
    assert list(from_parquet.family) == list(from_csv.family)
    assert list(from_parquet.label) == list(from_csv.label)

"""The Zeek conn.log reader on hand-written logs: headers, comments, unset and empty fields,
several files, JSON, IoT-23 labels, and bad input."""

from __future__ import annotations

import gzip
import json

import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import UNLABELED
from tests.data.readers.zeek_logs import (
    HEADER,
    ROWS,
    conn_log,
    make_header,
    without,
    write,
)


def test_reads_fields_unset_values_and_flags(tmp_path) -> None:
    table = read_flows("zeek", [write(tmp_path / "conn.log", conn_log(ROWS))])
    assert len(table) == 5
    c = table.canonical
    assert c["fwd_bytes"].tolist() == [1141, 60, 68, 112, 44]  # IP bytes, not payload
    assert c["bwd_pkts"].tolist() == [10, 0, 1, 2, 1]
    assert c["duration_s"].tolist() == [1.25, 0.0, 0.01, 0.5, 0.02]  # unset duration = 0
    assert c["protocol"].tolist() == ["tcp", "tcp", "udp", "icmp", "tcp"]
    assert c["service"].tolist()[:3] == ["https", "ssh", "dns"]
    assert c.loc[0, ["flag_syn", "flag_ack", "flag_fin", "flag_rst", "flag_psh"]].tolist() == [
        1,
        1,
        1,
        0,
        1,
    ]
    assert c.loc[1, ["flag_syn", "flag_ack", "flag_rst"]].tolist() == [1, 0, 0]
    assert c.loc[4, ["flag_syn", "flag_ack", "flag_rst"]].tolist() == [1, 0, 1]
    assert (c.loc[[2, 3], ["flag_syn", "flag_ack", "flag_psh", "flag_urg"]] == 0).all().all()
    assert c.loc[[0, 1, 4], "flag_urg"].isna().all()  # Zeek does not record URG
    assert table.native.loc[0, "history"] == "shadadff"
    assert table.context["flow_id"].tolist()[0] == "CAbc1"
    assert "tunnel_parents" not in table.native and "local_orig" not in table.native
    assert set(table.family) == {UNLABELED}
    assert any("no label column" in note for note in table.notes)


def test_several_files_and_concatenated_rotations(tmp_path) -> None:
    first = write(tmp_path / "conn.1.log", conn_log(ROWS[:2]) + conn_log(ROWS[2:3]))
    second = write(tmp_path / "conn.2.log", conn_log(ROWS[3:], close=False))
    table = read_flows("zeek", [first, second])
    assert len(table) == 5
    assert table.context["flow_id"].tolist() == ["CAbc1", "CAbc2", "CAbc3", "CAbc4", "CAbc5"]
    assert table.files == [str(first), str(second)]


def test_conn_state_gives_flags_without_history(tmp_path) -> None:
    rows = without(ROWS, "history")
    table = read_flows(
        "zeek", [write(tmp_path / "conn.log", conn_log(rows, make_header("history")))]
    )
    c = table.canonical
    assert c.loc[0, ["flag_syn", "flag_ack", "flag_fin", "flag_psh"]].tolist() == [1, 1, 1, 1]
    assert c.loc[1, ["flag_syn", "flag_ack"]].tolist() == [1, 0]
    assert c.loc[4, ["flag_syn", "flag_rst"]].tolist() == [1, 1]


def test_iot23_labels_with_space_joined_fields(tmp_path) -> None:
    header = HEADER.replace("\ttunnel_parents", "\ttunnel_parents   label   detailed-label")
    labels = [("Benign", "-"), ("Malicious", "PartOfAHorizontalPortScan"), ("Malicious", "C&C")]
    lines = []
    for row, (label, detailed) in zip(ROWS[:3], labels, strict=True):
        fields = row.split(" ")
        lines.append("\t".join(fields[:-1]) + "\t" + "   ".join([fields[-1], label, detailed]))
    path = write(tmp_path / "conn.log.labeled", header + "\n" + "\n".join(lines) + "\n")
    table = read_flows("zeek", [path])
    assert table.family.tolist() == ["benign", "recon", "botnet"]
    assert table.label.tolist() == ["Benign", "PartOfAHorizontalPortScan", "C&C"]


def test_simulator_labels_and_campaigns(tmp_path) -> None:
    header = HEADER.replace("\ttunnel_parents", "\ttunnel_parents\tlabel\tdetailed-label\tcampaign")
    labels = [" Benign - -", " Malicious T1046 volt-spider", " Malicious T0855 volt-spider"]
    rows = [r + extra for r, extra in zip(ROWS[:3], labels, strict=True)]
    table = read_flows("zeek", [write(tmp_path / "conn.log", conn_log(rows, header))])
    assert table.family.tolist() == ["benign", "recon", "ics_attack"]
    assert table.context["campaign"].fillna("-").tolist() == ["-", "volt-spider", "volt-spider"]


def test_json_lines_and_gzip(tmp_path) -> None:
    records = [
        {
            "ts": 1709546400.1,
            "uid": "C1",
            "id.orig_h": "10.0.0.5",
            "id.orig_p": 5000,
            "id.resp_h": "10.0.0.9",
            "id.resp_p": 502,
            "proto": "tcp",
            "duration": 0.3,
            "orig_bytes": 24,
            "resp_bytes": 18,
            "conn_state": "SF",
            "history": "ShADadFf",
            "orig_pkts": 6,
            "orig_ip_bytes": 344,
            "resp_pkts": 5,
            "resp_ip_bytes": 218,
        },
        {
            "ts": 1709546401.2,
            "uid": "C2",
            "id.orig_h": "10.0.0.5",
            "id.orig_p": 5001,
            "id.resp_h": "10.0.0.9",
            "id.resp_p": 502,
            "proto": "tcp",
            "conn_state": "S0",
            "history": "S",
            "orig_pkts": 1,
            "orig_ip_bytes": 60,
            "resp_pkts": 0,
            "resp_ip_bytes": 0,
        },
    ]
    text = "\n".join(json.dumps(r) for r in records) + "\n"
    path = tmp_path / "conn.log.gz"
    path.write_bytes(gzip.compress(text.encode()))
    table = read_flows("zeek", [path])
    assert table.canonical["service"].tolist() == ["modbus", "modbus"]
    assert table.canonical["duration_s"].tolist() == [0.3, 0.0]
    assert table.canonical["fwd_bytes"].tolist() == [344, 60]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "file is empty"),
        ("just some text\n", "no #fields header"),
        (HEADER + "\n", "header but no rows"),
        (conn_log([ROWS[0].replace(" 12 1141 ", " twelve 1141 ")]), "'orig_pkts'.*non-numeric"),
        (conn_log([ROWS[0].rsplit(" ", 3)[0]]), "line 9 has 18 fields"),
        (conn_log([ROWS[0], ROWS[1].rsplit(" ", 3)[0]]), "line 10 has 18 fields"),
        (conn_log([ROWS[0] + " extra"]), "line 9 has 22 fields, the #fields header names 21"),
        (conn_log([ROWS[0], ROWS[1] + " extra"]), "line 10 has 22 fields"),
        (conn_log([ROWS[0].replace(" 12 1141 ", "  1141 ")]), "row 1 has no value for 'orig_pkts'"),
        (conn_log(ROWS[:1]) + HEADER.replace("\tuid", "") + "\n", "different #fields"),
    ],
)
def test_bad_input_names_the_file(tmp_path, text: str, problem: str) -> None:
    path = write(tmp_path / "broken.log", text)
    with pytest.raises(InputError, match=problem) as error:
        read_flows("zeek", [path])
    assert error.value.path == path


def test_missing_columns_and_files(tmp_path) -> None:
    path = write(tmp_path / "conn.log", conn_log(without(ROWS, "proto"), make_header("proto")))
    with pytest.raises(InputError, match="missing required columns: proto"):
        read_flows("zeek", [path])
    with pytest.raises(InputError, match="file not found"):
        read_flows("zeek", [tmp_path / "absent.log"])


def test_json_labels_that_are_numbers_are_read_as_their_text(tmp_path) -> None:
    """A JSON log may label with numbers (``"label": 1``); they are text, unknown labels
    counted as any other, not a crash of the label lookup."""
    record = {"id.orig_h": "10.0.0.5", "id.resp_h": "10.0.0.9", "id.resp_p": 502, "proto": "tcp"}
    record |= {"orig_pkts": 6, "resp_pkts": 5, "orig_bytes": 24, "resp_bytes": 18}
    rows = [{**record, "label": 1}, {**record, "label": "Benign"}, {**record, "label": 1}]
    rows += [{**record, "detailed-label": 7, "label": "Malicious"}]
    path = write(tmp_path / "conn.json", "".join(json.dumps(r) + "\n" for r in rows))
    table = read_flows("zeek", [path])
    assert table.unknown_labels == {"1": 2, "7": 1}
    assert table.family[1] == "benign"

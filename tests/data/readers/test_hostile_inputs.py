"""The hostile files of the fuzz run, one regression test each (real rows, one defect), and
labels optional for scoring in every reader used for detection."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows
from fedsec.data.taxonomy import UNLABELED
from tests.conftest import dataset
from tests.data.readers.zeek_logs import ROWS, conn_log

UNSW = "unsw-nb15/UNSW_NB15_training-set.csv.gz"
NSL = "nsl-kdd/KDDTest-21.txt.gz"
CIC = "cic-ids2017/improved_rnd5000/Botnet_736.csv.gz"
NF = "netflow-nf-v2/NF-BoT-IoT-v2_reduced.csv.gz"
TON = "ton-iot-telemetry/Train_Test_IoT_Fridge.csv.gz"


def rows_of(relative: str, count: int = 20) -> list[str]:
    """The header and ``count`` rows spread over a real file, as text lines."""
    lines = gzip.decompress(dataset(relative).read_bytes()).decode("utf-8-sig").splitlines()
    step = max(1, (len(lines) - 1) // count)
    return [lines[0], *lines[1::step][:count]]


def write(tmp_path, lines: list[str], name: str = "flows.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def edit(lines: list[str], row: int, column: str, value: str) -> list[str]:
    """``lines`` with one field of data row ``row`` (1-based) replaced."""
    names = lines[0].split(",")
    fields = lines[row].split(",")
    fields[names.index(column)] = value
    return [*lines[:row], ",".join(fields), *lines[row + 1 :]]


def drop(lines: list[str], *columns: str) -> list[str]:
    names = lines[0].split(",")
    keep = [i for i, name in enumerate(names) if name.strip() not in columns]
    return [",".join(line.split(",")[i] for i in keep) for line in lines]


def test_a_zeek_log_with_one_byte_that_is_not_utf8(tmp_path):
    path = tmp_path / "conn.log"
    path.write_bytes(conn_log(ROWS).encode().replace(b"CAbc2", b"CA\xffc2"))
    with pytest.raises(InputError, match=r"not UTF-8 text: byte 0xff at offset \d+ \(line 10\)"):
        read_flows("zeek", [path])


@pytest.mark.parametrize("line", ["[1, 2]", '"conn"', "42", "null", '{"id.resp_p": {"x": 1}}'])
def test_zeek_json_lines_that_are_not_flat_objects(tmp_path, line):
    record = {"id.resp_p": 80, "proto": "tcp", "orig_pkts": 1, "resp_pkts": 1}
    record |= {"orig_bytes": 1, "resp_bytes": 1}
    path = write(tmp_path, [json.dumps(record), line], "conn.json")
    with pytest.raises(InputError, match="line 2"):
        read_flows("zeek", [path])


def test_a_hash_inside_a_zeek_field_is_data_not_a_comment(tmp_path):
    rows = [ROWS[0].replace("CAbc1", "CAbc#1")]
    table = read_flows("zeek", [write(tmp_path, conn_log(rows).splitlines(), "conn.log")])
    assert table.context["flow_id"].tolist() == ["CAbc#1"]
    assert table.canonical["fwd_pkts"].tolist() == [12]


@pytest.mark.parametrize("value", ["9" * 400, "inf", "70000", "-1", "80.5"])
def test_ports_that_are_not_ports(tmp_path, value):
    path = write(tmp_path, edit(rows_of(NF), 3, "L4_DST_PORT", value))
    with pytest.raises(InputError, match=r"'L4_DST_PORT' holds .*not a port .*data row 3"):
        read_flows("nf-v2", [path])


def test_a_400_digit_number_in_a_feature(tmp_path):
    path = write(tmp_path, edit(rows_of(UNSW), 2, "sbytes", "9" * 400))
    with pytest.raises(InputError, match=r"'sbytes' holds NaN/Infinity or a number too large"):
        read_flows("unsw-nb15", [path])


def test_a_time_out_of_range(tmp_path):
    path = write(tmp_path, edit(rows_of(TON), 4, "ts", "1e20"), "Train_Test_IoT_Fridge.csv")
    with pytest.raises(InputError, match=r"'ts' holds 1e\+20, not a Unix time .*data row 4"):
        read_flows("ton-iot", [path])


def test_a_blank_cic_label(tmp_path):
    path = write(tmp_path, edit(rows_of(CIC), 5, "Label", ""))
    with pytest.raises(InputError, match=r"'Label' has no label in data row 5"):
        read_flows("cicids2017", [path])


def test_short_rows_are_not_padded_with_nan(tmp_path):
    lines = rows_of(UNSW)
    lines[7] = lines[7].rsplit(",", 3)[0]
    with pytest.raises(InputError, match="line 8 has 42 fields, the header has 45"):
        read_flows("unsw-nb15", [write(tmp_path, lines)])


def test_a_repeated_header_is_not_read_as_data(tmp_path):
    lines = rows_of(CIC)
    with pytest.raises(InputError, match="line 12 repeats the header"):
        read_flows("cicids2017", [write(tmp_path, [*lines[:11], lines[0], *lines[11:]])])


def test_duplicate_column_names(tmp_path):
    lines = rows_of(NF)
    lines[0] = lines[0].replace("IN_PKTS", "IN_BYTES")
    with pytest.raises(InputError, match="appear more than once: IN_BYTES"):
        read_flows("nf-v2", [write(tmp_path, lines)])


def test_nsl_kdd_without_its_label_column_is_unlabeled_not_mislabelled(tmp_path):
    full = rows_of(NSL)
    lines = [",".join(line.split(",")[:41]) for line in full]
    table = read_flows("nsl-kdd", [write(tmp_path, lines, "kdd.txt")])
    assert set(table.family) == {UNLABELED}
    assert "no label column" in table.notes[0]
    difficulty_only = [",".join([*line.split(",")[:41], line.split(",")[42]]) for line in full]
    with pytest.raises(InputError, match="field 42 should be the label"):
        read_flows("nsl-kdd", [write(tmp_path, difficulty_only, "kdd.txt")])


def test_unsw_attack_with_a_blank_category_is_refused_not_benign(tmp_path):
    lines = rows_of(UNSW, 60)
    attack = next(i for i, line in enumerate(lines[1:], 1) if line.endswith(",1"))
    blank = rf"contradictory labels in data row {attack}: attack_cat blank but label 1"
    with pytest.raises(InputError, match=blank):  # it said attack_cat 'nan'
        read_flows("unsw-nb15", [write(tmp_path, edit(lines, attack, "attack_cat", ""))])
    normal = next(i for i, line in enumerate(lines[1:], 1) if line.endswith(",0"))
    table = read_flows("unsw-nb15", [write(tmp_path, edit(lines, normal, "attack_cat", ""))])
    assert table.family[normal - 1] == "benign"  # blank category + label 0: the CSVs' normal


def test_one_bad_value_does_not_turn_a_numeric_column_categorical(tmp_path):
    path = write(
        tmp_path, edit(rows_of(TON), 6, "fridge_temperature", "warm"), "Train_Test_IoT_Fridge.csv"
    )
    with pytest.raises(InputError, match=r"'fridge_temperature' holds 'warm' among numbers"):
        read_flows("ton-iot", [path])


@pytest.mark.parametrize(
    ("fmt", "relative", "labels", "name"),
    [
        ("unsw-nb15", UNSW, ("attack_cat", "label"), "flows.csv"),
        ("cicids2017", CIC, ("Label", "Attempted Category"), "flows.csv"),
        ("nf-v2", NF, ("Attack", "Label"), "flows.csv"),
        ("ton-iot", TON, ("type", "label"), "Train_Test_IoT_Fridge.csv"),
    ],
)
def test_label_columns_are_optional_for_scoring(tmp_path, fmt, relative, labels, name):
    lines = rows_of(relative)
    labelled = read_flows(fmt, [write(tmp_path, lines, name)])
    bare = read_flows(fmt, [write(tmp_path, drop(lines, *labels), name)])
    assert set(bare.family) == {UNLABELED}
    assert any("no label column" in note for note in bare.notes)
    assert bare.native.equals(labelled.native)
    if labelled.canonical is not None:
        assert bare.canonical.equals(labelled.canonical)


@pytest.mark.parametrize(
    ("fmt", "relative", "kind", "binary", "name"),
    [
        ("unsw-nb15", UNSW, "attack_cat", "label", "flows.csv"),
        ("nf-v2", NF, "Attack", "Label", "flows.csv"),
        ("ton-iot", TON, "type", "label", "Train_Test_IoT_Fridge.csv"),
    ],
)
def test_the_binary_label_alone_and_contradictions(tmp_path, fmt, relative, kind, binary, name):
    lines = rows_of(relative, 60)
    only_binary = read_flows(fmt, [write(tmp_path, drop(lines, kind), name)])
    flags = np.array([line.split(",")[lines[0].split(",").index(binary)] for line in lines[1:]])
    assert (only_binary.family == np.where(flags == "1", "other", "benign")).all()
    attack = int(np.flatnonzero(flags == "1")[0]) + 1
    with pytest.raises(InputError, match=f"contradictory labels in data row {attack}"):
        read_flows(fmt, [write(tmp_path, edit(lines, attack, binary, "0"), name)])


MLCVE = "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz"


def test_cic_duplicated_column_only_as_the_documented_pair(tmp_path):
    lines = rows_of(MLCVE)
    thrice = lines[0].replace(" Bwd Header Length", " Fwd Header Length")
    with pytest.raises(InputError, match=r"(appear more than once|clash).*Fwd Header Length"):
        read_flows("cicids2017", [write(tmp_path, [thrice, *lines[1:]])])
    names = lines[0].split(",")
    names[[n.strip() for n in names].index("Fwd Header Length")] = " Fwd Header Len"
    table = read_flows("cicids2017", [write(tmp_path, [",".join(names), *lines[1:]])])
    assert "Fwd Header Len" in table.native  # the copy without its original is dropped
    assert "Fwd Header Length.1" not in table.native


def test_a_blank_protocol_in_a_flow_csv(tmp_path):
    lines = ["duration_s,fwd_bytes,bwd_bytes,fwd_pkts,bwd_pkts,protocol,dst_port"]
    lines += ["1.0,10,20,1,1,tcp,80", "0.5,10,20,1,1, ,53"]
    with pytest.raises(InputError, match="'protocol' has no value in data row 2"):
        read_flows("flows", [write(tmp_path, lines)])


def test_loghub_rows_with_blank_content_or_event_id(tmp_path):
    from fedsec.data.logs import SessionOptions, read_sessions

    lines = rows_of("loghub-2k/HDFS/HDFS_2k.log_structured.csv.gz", 30)
    names = lines[0].split(",")
    fields = lines[3].split(",")
    fields[names.index("Content")] = ""
    blank_content = [*lines[:3], ",".join(fields), *lines[4:]]
    options = SessionOptions(session_key=r"(blk_-?\d+)")
    path = write(tmp_path, blank_content, "HDFS_structured.csv")
    table = read_sessions("loghub-structured", [path], options)
    assert sum(len(e) for e in table.events) >= 29  # the blank line names no block
    fields[names.index("EventId")] = " "
    no_event = [*lines[:3], ",".join(fields), *lines[4:]]
    with pytest.raises(InputError, match="'EventId' is blank in data row 3"):
        read_sessions("loghub-structured", [write(tmp_path, no_event, "x.csv")], options)

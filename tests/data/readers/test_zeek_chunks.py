"""Zeek ASCII logs read block by block (what ``fedsec detect`` streams) give the tables a whole
read gives, across appended rotations, and refuse what it refuses, naming the same lines and
rows; JSON logs are read whole."""

import gzip
import json

import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers import chunks, read_flows
from fedsec.data.readers.chunks import read_chunks
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.data.readers.tables import assert_same_tables


@pytest.fixture(scope="module")
def rotations(tmp_path_factory) -> list[str]:
    """A week of a simulated organization's conn.logs, each with its header and #close."""
    folder = tmp_path_factory.mktemp("zeek")
    write_dataset(simulate(load_simulation("consortium", ["flows=4000"])), folder, "zeek")
    logs = sorted(folder.glob("plant/conn.*.log"))
    assert len(logs) >= 5
    return [log.read_text() for log in logs]


def _streamed(path, monkeypatch, rows: int = 97):
    monkeypatch.setattr(chunks, "FRAME_BLOCK_BYTES", 2048)
    return list(read_chunks("zeek", [path], rows=rows))


def test_appended_rotations_read_in_blocks_are_the_log_read_whole(rotations, tmp_path, monkeypatch):
    path = tmp_path / "conn.log"
    path.write_text("".join(rotations))
    whole = read_flows("zeek", [path])
    parts = _streamed(path, monkeypatch)
    assert len(whole) > 300 and len(parts) == -(-len(whole) // 97)
    assert_same_tables(whole, parts)
    assert whole.source_row[-1] == len(whole)
    packed = tmp_path / "conn.log.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert_same_tables(read_flows("zeek", [packed]), _streamed(packed, monkeypatch))


def _refusal(path, monkeypatch) -> str:
    with pytest.raises(InputError) as whole:
        read_flows("zeek", [path])
    with pytest.raises(InputError) as streamed:
        _streamed(path, monkeypatch)
    assert str(streamed.value) == str(whole.value)
    return str(whole.value)


def _late(rotations: list[str], edit) -> str:
    lines = "".join(rotations).split("\n")
    data = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    edit(lines, data[-40])
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda lines, i: lines.__setitem__(i, lines[i] + "\textra"), "fields, the #fields"),
        (lambda lines, i: lines.__setitem__(i, lines[i].replace("\t", "\t\t", 1)), "fields, the"),
        (
            lambda lines, i: lines.__setitem__(i, "\t".join(["", *lines[i].split("\t")[1:]])),
            "has no value for 'ts'",
        ),
        (
            lambda lines, i: lines.insert(i, "#fields\tts\tuid"),
            "holds several different #fields headers",
        ),
    ],
    ids=["extra field", "missing separator", "blank field", "other #fields"],
)
def test_late_malformed_lines_are_refused_as_a_whole_read_refuses_them(
    edit, expected, rotations, tmp_path, monkeypatch
):
    path = tmp_path / "bad.log"
    path.write_text(_late(rotations, edit))
    message = _refusal(path, monkeypatch)
    assert expected in message
    if "no value" in message:  # the data row in the file, not in its block
        whole_rows = sum(
            1 for line in "".join(rotations).split("\n") if line and not line.startswith("#")
        )
        assert f"data row {whole_rows - 39} has no value" in message


def test_a_header_without_rows_and_an_empty_file(rotations, tmp_path, monkeypatch):
    header = "".join(line + "\n" for line in rotations[0].split("\n") if line.startswith("#"))
    (tmp_path / "empty.log").write_text("\n \n")
    (tmp_path / "header.log").write_text(header)
    (tmp_path / "nofields.log").write_text("#path\tconn\n1\t2\n")
    assert "file is empty" in _refusal(tmp_path / "empty.log", monkeypatch)
    assert "header but no rows" in _refusal(tmp_path / "header.log", monkeypatch)
    assert "no #fields header" in _refusal(tmp_path / "nofields.log", monkeypatch)


def test_a_json_log_is_read_whole_and_sliced(tmp_path, monkeypatch):
    records = [
        {"ts": 1.0 + i, "uid": f"C{i}", "id.orig_h": "10.0.0.1", "id.orig_p": 40000 + i,
         "id.resp_h": "10.0.0.2", "id.resp_p": 443, "proto": "tcp", "orig_pkts": 3,
         "resp_pkts": 2, "orig_bytes": 100, "resp_bytes": 200, "conn_state": "SF",
         "history": "ShADadFf"} for i in range(250)
    ]  # fmt: skip
    path = tmp_path / "conn.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    parts = _streamed(path, monkeypatch)
    assert [len(p) for p in parts] == [97, 97, 56]
    assert_same_tables(read_flows("zeek", [path]), parts)

"""Zeek ASCII logs read block by block (what ``fedsec detect`` streams) give the tables a whole
read gives, across appended rotations, and refuse what it refuses, naming the same lines and
rows (JSON logs: test_zeek_json.py)."""

import gzip

import pytest

from fedsec.data.readers import read_flows
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from tests.data.readers.tables import assert_same_tables, streamed_zeek, zeek_refusal


@pytest.fixture(scope="module")
def rotations(tmp_path_factory) -> list[str]:
    """A week of a simulated organization's conn.logs, each with its header and #close."""
    folder = tmp_path_factory.mktemp("zeek")
    write_dataset(simulate(load_simulation("consortium", ["flows=4000"])), folder, "zeek")
    logs = sorted(folder.glob("plant/conn.*.log"))
    assert len(logs) >= 5
    return [log.read_text() for log in logs]


def test_appended_rotations_read_in_blocks_are_the_log_read_whole(rotations, tmp_path, monkeypatch):
    path = tmp_path / "conn.log"
    path.write_text("".join(rotations))
    whole = read_flows("zeek", [path])
    parts = streamed_zeek(path, monkeypatch)
    assert len(whole) > 300 and len(parts) == -(-len(whole) // 97)
    assert_same_tables(whole, parts)
    assert whole.source_row[-1] == len(whole)
    packed = tmp_path / "conn.log.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert_same_tables(read_flows("zeek", [packed]), streamed_zeek(packed, monkeypatch))


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
    message = zeek_refusal(path, monkeypatch)
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
    assert "file is empty" in zeek_refusal(tmp_path / "empty.log", monkeypatch)
    assert "header but no rows" in zeek_refusal(tmp_path / "header.log", monkeypatch)
    assert "no #fields header" in zeek_refusal(tmp_path / "nofields.log", monkeypatch)

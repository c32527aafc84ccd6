"""``fedsec detect --rejects`` on named files (a historical scan): a malformed line is set aside
with its file and data row, every other row of every file is scored, and the good rows' alerts
keep their file's path and data row (before, --rejects was refused for a named file, and piping
the file in lost its path)."""

from __future__ import annotations

import json

import pytest

from fedsec.core.errors import InputError
from fedsec.detect.alert_options import AlertOptions
from fedsec.detect.dispatch import run_detection
from fedsec.detect.file_batches import FileTail
from fedsec.detect.formats import FLAT
from fedsec.detect.tails import FIRST_LINE
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _spoiled(flows_csv, path, bad: int, garbage_after: int) -> None:  # noqa: F811
    """The flows with a word in ``duration_s`` of data row ``bad`` and a garbage line after
    data row ``garbage_after`` (so it is data row ``garbage_after + 1``), no final newline."""
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    header = lines[0].decode().rstrip("\n").split(",")
    cells = lines[bad].decode().rstrip("\n").split(",")
    cells[header.index("duration_s")] = "abc"
    lines[bad] = (",".join(cells) + "\n").encode()
    lines.insert(garbage_after + 1, b"garbage,line\n")
    path.write_bytes(b"".join(lines).rstrip(b"\n"))


def test_named_files_are_scanned_past_malformed_lines(bundle, flows_csv, tmp_path):  # noqa: F811
    spoiled, out, rejects = tmp_path / "day.csv", tmp_path / "a.jsonl", tmp_path / "rej.jsonl"
    _spoiled(flows_csv, spoiled, bad=4, garbage_after=1262)
    flat = AlertOptions(FLAT.name)
    with pytest.raises(InputError, match=r"has 2 fields"):  # the default stays strict
        run_detection(bundle, [spoiled], "flows", out, trust=UNSIGNED, alert_options=flat)
    assert not out.exists()
    summary = run_detection(
        bundle, [spoiled, flows_csv], "flows", out, trust=UNSIGNED, alert_options=flat,
        rejects=rejects,
    )  # fmt: skip
    assert any("2 line(s) refused" in notice for notice in summary.notices)
    kept = _records(rejects)
    assert [(r["source"], r["data_row"]) for r in kept] == [(str(spoiled), 4), (str(spoiled), 1263)]
    assert kept[1]["problem"] == "data row 1263 has 2 fields, the header has 23"
    whole = tmp_path / "whole.jsonl"
    run_detection(bundle, [flows_csv], "flows", whole, trust=UNSIGNED, alert_options=flat)
    clean = _records(whole)
    alerts = _records(out)
    assert {a["source_file"] for a in alerts} == {str(spoiled), str(flows_csv)}
    first = [a for a in alerts if a["source_file"] == str(spoiled)]
    # the spoiled file's good rows: the clean file's alerts, its rows after the garbage one on
    expected = [
        {**a, "source_file": str(spoiled), "source_row": a["source_row"] + (a["source_row"] > 1262)}
        for a in clean
        if a["source_row"] != 4
    ]
    without_row = [{k: v for k, v in a.items() if k != "row"} for a in first]
    assert without_row == [{k: v for k, v in a.items() if k != "row"} for a in expected]
    second = [a for a in alerts if a["source_file"] == str(flows_csv)]
    assert [(a["source_row"], a["family"]) for a in second] == [
        (a["source_row"], a["family"]) for a in clean
    ]


def test_a_finished_file_gives_its_last_line_without_a_newline(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n\n3,4")
    tail = FileTail(path, FIRST_LINE)
    batches = []
    while (batch := tail.poll()) is not None:
        batches.append(batch)
    assert [line for b in batches for line in b.lines] == [b"1,2\n", b"3,4\n"] and tail.ended
    tail.close()


def test_a_compressed_file_is_refused_by_name(tmp_path):
    path = tmp_path / "f.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00rest")
    with pytest.raises(InputError, match="is gzip, not text: --rejects"):
        FileTail(path, FIRST_LINE)

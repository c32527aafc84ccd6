"""``fedsec detect --input -`` (or a named pipe): telemetry piped in (``zcat conn.log.gz |
fedsec detect ...``) is scored batch by batch as it comes, until it ends, with the alerts of
the same file given by name (but for the file they name: none); misuse and bad data are
worded, and an alerts file is still written atomically."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile

import pytest

from fedsec.detect.alert_options import AlertOptions
from fedsec.detect.dispatch import run_detection
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)
from tests.detect.test_follow import conn_log  # noqa: F401 (fixture)
from tests.detect.zeek_json import write_zeek_json

HANG = 300.0  # seconds: a guard against a hang, never a measure


FEED = """
import sys, time
data, pieces = open(sys.argv[1], "rb").read(), int(sys.argv[2])
out = open(sys.argv[3], "wb") if len(sys.argv) > 3 else sys.stdout.buffer  # a named pipe
step = max(1, len(data) // pieces)
try:
    for start in range(0, len(data), step):
        out.write(data[start : start + step])
        out.flush()
        time.sleep(0.05)  # longer than a gather: each piece may be scored on its own
except BrokenPipeError:  # the command refused what came first
    pass
"""


def _detect(bundle, source, out, *extra, data: bytes | None = None, pieces: int = 1):  # noqa: F811
    """``fedsec detect`` on ``source`` (``-``, or a named pipe: ``data`` piped in by another
    process, in ``pieces`` cut mid-line, a pause between them)."""
    args = [sys.executable, "-m", "fedsec", "detect", "--model", str(bundle), "--input"]
    args += [str(source), "--out", str(out), "--allow-unsigned", *extra]
    named = [str(source)] if data is not None and str(source) != "-" else []  # a named pipe
    with tempfile.NamedTemporaryFile() as piped:
        piped.write(data or b"")
        piped.flush()
        feeder = subprocess.Popen(
            [sys.executable, "-c", FEED, piped.name, str(pieces), *named],
            stdout=subprocess.DEVNULL if named else subprocess.PIPE,
        )
        command = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL if named else feeder.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if not named:
            feeder.stdout.close()  # the command holds the pipe's reading end alone
        try:
            stdout, stderr = command.communicate(timeout=HANG)
            feeder.wait(timeout=HANG)
        finally:
            for process in (command, feeder):
                if process.poll() is None:
                    process.kill()
    return command.returncode, stdout, " ".join(stderr.decode().split())


def _named(bundle, source, fmt: str, tmp_path) -> list[dict]:  # noqa: F811
    """The flat alerts of ``source`` given by name (scored in this process: no start-up)."""
    named = tmp_path / "named.jsonl"
    flat = AlertOptions("fedsec")
    run_detection(bundle, [source], fmt, named, trust=UNSIGNED, alert_options=flat)
    return _records(named.read_bytes())


def _records(text: bytes) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _without_file(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "source_file"} for r in records]


@pytest.mark.parametrize("kind", ["flow csv", "zeek", "zeek json"])
def test_piped_telemetry_gives_the_alerts_of_the_file(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    conn_log,  # noqa: F811
    tmp_path,
    kind,
):
    """Piped in seven pieces cut mid-line (a Zeek log's header block once, at its start)."""
    source = {"flow csv": flows_csv, "zeek": conn_log}.get(kind)
    if source is None:
        source = write_zeek_json(conn_log, tmp_path / "conn.json")
    fmt = ["--format", "flows" if kind == "flow csv" else "zeek", "--alert-format", "fedsec"]
    piped = tmp_path / "piped.jsonl"
    code, _, said = _detect(bundle, "-", piped, *fmt, data=source.read_bytes(), pieces=7)
    assert code == 0, said
    expected = _named(bundle, source, fmt[1], tmp_path)
    assert len(expected) > 5
    assert _without_file(_records(piped.read_bytes())) == _without_file(expected)
    assert {r["source_file"] for r in _records(piped.read_bytes())} == {""}


def test_piped_ecs_alerts_name_no_file_and_go_on_to_standard_output(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    code, stdout, said = _detect(bundle, "-", "-", "--format", "flows", data=flows_csv.read_bytes())
    assert code == 0, said
    documents = _records(stdout)
    assert len(documents) > 5 and all("log" not in d for d in documents)
    assert "alerts → standard output" in said


def test_follow_on_standard_input_ends_with_it(bundle, flows_csv, tmp_path):  # noqa: F811
    out = tmp_path / "a.jsonl"
    data = flows_csv.read_bytes()
    code, stdout, said = _detect(
        bundle, "-", out, "--format", "flows", "--follow", data=data, pieces=3
    )
    assert code == 0, said
    assert out.read_bytes().count(b"\n") > 5 and "rows scored" in stdout.decode()


def test_a_compressed_pipe_is_refused_by_name(bundle, flows_csv, tmp_path):  # noqa: F811
    out = tmp_path / "a.jsonl"
    data = gzip.compress(flows_csv.read_bytes())
    code, _, said = _detect(bundle, "-", out, "--format", "flows", data=data)
    assert code == 2
    assert "error: standard input: is gzip, not text" in said and "Traceback" not in said
    assert not out.exists()


def test_a_bad_row_piped_late_names_its_rows_and_writes_no_alerts_file(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """The alerts file is atomic as for a named file: rows scored before the bad one leave
    nothing."""
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    header = lines[0].decode().rstrip("\n").split(",")
    cells = lines[-1].decode().rstrip("\n").split(",")
    cells[header.index("fwd_bytes")] = "lots"
    data = b"".join(lines) + (",".join(cells) + "\n").encode()
    out = tmp_path / "a.jsonl"
    code, _, said = _detect(bundle, "-", out, "--format", "flows", data=data, pieces=4)
    assert code == 2
    assert "error: standard input: data rows" in said and "fwd_bytes" in said
    assert "Traceback" not in said
    assert list(tmp_path.iterdir()) == []


def test_standard_input_is_scored_alone(bundle, flows_csv, tmp_path):  # noqa: F811
    out = tmp_path / "a.jsonl"
    code, _, said = _detect(bundle, "-", out, str(flows_csv), "--format", "flows")
    assert code == 2
    assert "error: standard input: a pipe is scored alone" in said
    assert not out.exists()


def test_a_named_pipe_is_read_as_it_comes(bundle, flows_csv, tmp_path):  # noqa: F811
    """A FIFO (bash's ``--input <(zcat flows.csv.gz)`` gives one) is read as standard input
    is, its alerts naming it; before, it was refused (not a regular file)."""
    fifo = tmp_path / "flows.pipe"
    os.mkfifo(fifo)
    fmt = ["--format", "flows", "--alert-format", "fedsec"]
    piped = tmp_path / "piped.jsonl"
    code, _, said = _detect(bundle, fifo, piped, *fmt, data=flows_csv.read_bytes(), pieces=5)
    assert code == 0, said
    records, expected = _records(piped.read_bytes()), _named(bundle, flows_csv, "flows", tmp_path)
    assert _without_file(records) == _without_file(expected)
    assert {r["source_file"] for r in records} == {str(fifo)}


@pytest.mark.parametrize("alert_format", ["ecs", "fedsec"])
def test_a_header_only_pipe_is_a_quiet_hour(bundle, flows_csv, tmp_path, alert_format):  # noqa: F811
    """A cron job piping an hour without traffic: exit 0, an empty alerts file, one note."""
    out = tmp_path / "a.jsonl"
    header = flows_csv.read_bytes().split(b"\n", 1)[0] + b"\n"
    fmt = ["--format", "flows", "--alert-format", alert_format]
    code, _, said = _detect(bundle, "-", out, *fmt, data=header)
    assert code == 0, said
    assert out.exists() and out.read_bytes() == b""
    assert said.count("standard input: the file held no rows (a header only)") == 1, said


def test_an_empty_pipe_is_refused_and_writes_nothing(bundle, tmp_path):  # noqa: F811
    out = tmp_path / "a.jsonl"
    code, _, said = _detect(bundle, "-", out, "--format", "flows", data=b"")
    assert code == 2 and "error: standard input:" in said and "empty" in said, said
    assert "Traceback" not in said and not out.exists()


def test_a_piped_header_missing_a_feature_is_refused_naming_the_pipe(bundle, flows_csv, tmp_path):  # noqa: F811
    out = tmp_path / "a.jsonl"
    header = flows_csv.read_bytes().split(b"\n", 1)[0] + b"\n"
    assert b",fwd_bytes," in header
    data = header.replace(b",fwd_bytes,", b",")
    code, _, said = _detect(bundle, "-", out, "--format", "flows", data=data)
    assert code == 2 and "error: standard input:" in said and "fwd_bytes" in said, said
    assert "Traceback" not in said and not out.exists()

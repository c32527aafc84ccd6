"""``fedsec detect --out -``: the alerts on standard output are those of ``--out FILE`` (and
nothing else is), whether scored by threads or processes, buffered or not; a reader that
leaves (``| head``) ends the run quietly with nothing left behind; Ctrl-C and misuse are
worded."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.detect.simulated_flows import bundle, flows_csv, parquet_groups  # noqa: F401 (fixtures)

HANG = 300.0  # seconds: a guard against a hang, never a measure
CREATED = re.compile(rb'"created": "[^"]*"')  # the run's own time, in every ECS alert


def _args(bundle, source, out, *extra):  # noqa: F811
    return [
        sys.executable,
        "-m",
        "fedsec",
        "detect",
        "--model",
        str(bundle),
        "--format",
        "flows",
        "--input",
        str(source),
        "--out",
        str(out),
        "--allow-unsigned",
        *extra,
    ]


def _env(tmp_path, unbuffered: str = "") -> dict:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONUNBUFFERED": unbuffered, "TMPDIR": str(scratch)}


def _source(flows_csv, tmp_path, container):  # noqa: F811
    if container == "parquet":  # several row groups: scored by two processes
        return parquet_groups(flows_csv, tmp_path / "in.parquet", 1000)
    return flows_csv


@pytest.mark.parametrize(
    ("container", "unbuffered"),
    [("parquet", "1"), ("csv", "")],
    ids=["processes-unbuffered", "threads-buffered"],  # a partial write: test_standard_streams
)
def test_alerts_on_standard_output_are_those_of_the_file(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
    container,
    unbuffered,
):
    """Every byte, in order (more than a pipe holds); the summary on standard error; no file
    named '-', no scratch left."""
    source = _source(flows_csv, tmp_path, container)
    env = _env(tmp_path, unbuffered)
    filed = tmp_path / "alerts.jsonl"
    run = dict(capture_output=True, env=env, cwd=tmp_path, timeout=HANG, check=False)
    to_file = subprocess.run(_args(bundle, source, filed, "--workers", "2"), **run)
    assert to_file.returncode == 0, to_file.stderr
    piped = subprocess.run(_args(bundle, source, "-", "--workers", "2"), **run)
    assert piped.returncode == 0, piped.stderr
    expected = CREATED.sub(b"", filed.read_bytes())
    assert len(expected) > 1 << 17  # well past one pipe write
    assert CREATED.sub(b"", piped.stdout) == expected
    summary = " ".join(piped.stderr.decode().split())
    assert "alerts → standard output" in summary and "rows scored" in summary
    assert not (tmp_path / "-").exists()
    assert os.listdir(tmp_path / "scratch") == []


@pytest.mark.parametrize("container", ["parquet", "csv"], ids=["processes", "threads"])
def test_a_reader_that_leaves_ends_the_run_quietly_and_leaves_nothing(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
    container,
):
    """As ``fedsec detect --out - | head -n 1``: exit 141 (a writer whose reader left), no
    traceback or summary, the scoring processes gone with their row groups' files."""
    source = _source(flows_csv, tmp_path, container)
    command = subprocess.Popen(
        _args(bundle, source, "-", "--workers", "2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path, "1"),
        cwd=tmp_path,
    )
    try:
        assert command.stdout.readline().startswith(b"{")
        command.stdout.close()  # the reader leaves with the rest unread (more than a pipe holds)
        stderr = command.communicate(timeout=HANG)[1].decode()
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 141, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert "rows scored" not in stderr
    assert os.listdir(tmp_path / "scratch") == []


def test_ctrl_c_says_the_alerts_sent_stay_sent(bundle, flows_csv, tmp_path):  # noqa: F811
    command = subprocess.Popen(
        _args(bundle, flows_csv, "-"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    try:
        assert command.stdout.readline().startswith(b"{")  # then blocked on a full pipe
        command.send_signal(signal.SIGINT)
        stderr = command.communicate(timeout=HANG)[1].decode()
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 130, stderr
    message = " ".join(stderr.split())
    assert "interrupted: the alerts sent to standard output before it stay with their reader" in (
        message
    )


def test_incidents_need_an_alerts_file(bundle, flows_csv, tmp_path):  # noqa: F811
    args = _args(bundle, flows_csv, "-", "--incidents", str(tmp_path / "report"))
    done = subprocess.run(args, capture_output=True, text=True, timeout=HANG, check=False)
    assert done.returncode == 2
    assert "give --out a file name, not '-'" in " ".join(done.stderr.split())
    assert done.stdout == "" and not (tmp_path / "report").exists()


def test_a_closed_standard_output_is_one_clear_error(bundle, flows_csv, tmp_path):  # noqa: F811
    done = subprocess.run(
        _args(bundle, flows_csv, "-"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=HANG,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 2, done.stderr
    assert "error: standard output is closed" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_alerts_never_replace_the_telemetry(bundle, flows_csv, tmp_path):  # noqa: F811
    """``--out`` (even with ``--force``) or ``--state`` naming an input, by any path, or
    ``--state`` naming ``--out``: refused before anything is read, the input untouched."""
    source, alerts = tmp_path / "flows.csv", tmp_path / "a.jsonl"
    source.write_bytes(flows_csv.read_bytes())
    alerts.write_bytes(b"")
    (tmp_path / "link.csv").symlink_to(source)
    cases = [
        (tmp_path / "link.csv", ["--force"], "--out", "replace the telemetry"),
        (alerts, ["--follow", "--state", str(source)], "--state", "replace the telemetry"),
        (alerts, ["--follow", "--state", str(alerts)], "--state", "replace the alerts"),
    ]
    for out, extra, option, why in cases:
        done = CliRunner().invoke(app, _args(bundle, source, out, *extra)[3:])
        said = " ".join(done.output.split())
        assert done.exit_code == 2 and option in said and why in said, said
    assert source.read_bytes() == flows_csv.read_bytes()

"""The alerts file of ``fedsec detect --follow`` under log rotation: ``copytruncate`` leaves no
hole of NUL bytes, SIGHUP after a rename sends the alerts to the new file, and a kept position
cuts the file back to its size."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from fedsec.core.errors import OutputError
from fedsec.detect.alerts_file import AlertsFile
from tests.detect.simulated_flows import bundle, flows_csv  # noqa: F401 (fixtures)

HANG = 180.0  # seconds: a guard against a hang, never a measure


def test_copytruncate_leaves_no_hole(tmp_path):
    path = tmp_path / "alerts.jsonl"
    alerts = AlertsFile(path)
    alerts.write(b"a\n" * 1000)
    alerts.flush()
    with open(path, "r+b") as rotated:  # logrotate copytruncate: copied, then cut to nothing
        rotated.truncate(0)
    alerts.write(b"b\n")
    alerts.close()
    assert path.read_bytes() == b"b\n"


def test_a_reopen_after_a_rename_writes_the_new_file(tmp_path):
    path = tmp_path / "alerts.jsonl"
    alerts = AlertsFile(path)
    alerts.write(b"old\n")
    alerts.flush()
    os.rename(path, tmp_path / "alerts.jsonl.1")
    alerts.ask_reopen()
    alerts.write(b"new\n")
    alerts.close()
    assert (tmp_path / "alerts.jsonl.1").read_bytes() == b"old\n"
    assert path.read_bytes() == b"new\n"


def test_a_kept_size_cuts_the_file_back_and_a_shorter_file_is_appended_to(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b"kept\nafter the position\n")
    alerts = AlertsFile(path, keep_bytes=5)
    alerts.write(b"again\n")
    alerts.close()
    assert path.read_bytes() == b"kept\nagain\n" and not alerts.shorter
    shorter = AlertsFile(path, keep_bytes=1000)
    shorter.write(b"more\n")
    shorter.close()
    assert path.read_bytes() == b"kept\nagain\nmore\n" and shorter.shorter


def test_sighup_sends_detect_follow_s_alerts_to_the_renamed_file_s_successor(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """As logrotate's ``postrotate kill -HUP``: the command keeps running, the alerts written
    after the signal go to a new file at the path, every line whole in both."""
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    common = [sys.executable, "-m", "fedsec", "detect", "--model", str(bundle), "--format"]
    common += ["flows", "--allow-unsigned", "--alert-format", "fedsec"]
    whole = tmp_path / "whole.jsonl"
    subprocess.run(
        [*common, "--input", str(flows_csv), "--out", str(whole)], check=True, capture_output=True
    )
    flagged = pd.read_json(whole, lines=True)["source_row"]  # which rows each half flags last
    last_first, last = flagged[flagged < half].max(), flagged.max()
    source, out = tmp_path / "flows.csv", tmp_path / "alerts.jsonl"
    source.write_bytes(b"".join(lines[:half]))
    follow = [*common, "--input", str(source), "--out", str(out), "--follow", "--poll", "0.05"]
    command = subprocess.Popen(follow, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _rows_in(out) == last_first)
        os.rename(out, tmp_path / "alerts.jsonl.1")
        command.send_signal(signal.SIGHUP)
        time.sleep(0.3)  # the signal handled before the next batch (not a measure)
        with open(source, "ab") as handle:
            handle.write(b"".join(lines[half:]))
        _wait(lambda: _rows_in(out) == last)
        command.send_signal(signal.SIGTERM)
        stderr = command.communicate(timeout=HANG)[1]
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0, stderr
    first, second = (pd.read_json(p, lines=True) for p in (tmp_path / "alerts.jsonl.1", out))
    assert len(first) > 5 and len(second) > 5
    assert first["source_row"].max() < half <= second["source_row"].min()
    assert len(first) + len(second) == len(flagged)


def _rows_in(out) -> int:
    """The last data row with an alert in ``out`` (0: none yet)."""
    try:
        text = out.read_bytes()
    except FileNotFoundError:
        return 0
    whole = text[: text.rfind(b"\n") + 1]
    return int(pd.read_json(io.BytesIO(whole), lines=True)["source_row"].max()) if whole else 0


def _wait(condition) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


def test_a_second_writer_is_refused_while_the_first_writes(tmp_path):
    path = tmp_path / "alerts.jsonl"
    first = AlertsFile(path)
    first.write(b"first\n")
    with pytest.raises(OutputError, match="another fedsec detect --follow is writing it"):
        AlertsFile(path, keep_bytes=0)
    first.close()
    assert path.read_bytes() == b"first\n"
    AlertsFile(path, keep_bytes=6).close()  # free again once the first is done

"""``fedsec detect --follow``: a growing file (appended to by the test) is scored batch by batch,
with the alerts of the finished file, across partial lines (rotation and truncation:
test_tails.py); SIGTERM ends the command cleanly. No test asserts on timing: waits are for a
condition, with a timeout that only guards against a hang."""

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.writers import write_records
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.dispatch import run_detection
from fedsec.detect.follow import FollowOptions, follow
from fedsec.detect.scoring import score_files
from fedsec.simulator import load_simulation, simulate
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)
from tests.detect.zeek_json import write_zeek_json

HANG = 180.0  # seconds: a guard against a hang, never a measure


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _followed_and_whole(bundle, data: bytes, cuts: list[int], path, fmt: str, rows: int):  # noqa: F811
    """Follow ``path`` while ``data`` is appended to it up to each cut (its first cut already
    written) until ``rows`` rows are scored; the followed alerts and ``fedsec detect``'s
    alerts of the finished file."""
    score = flow_scorer(bundle, [path], fmt, None, None, UNSIGNED)
    stop = threading.Event()
    followed = path.parent / "followed.jsonl"
    sink = open(followed, "wb")  # noqa: SIM115
    runner = threading.Thread(
        target=follow, args=(path, fmt, score, sink, stop, FollowOptions(poll=0.01))
    )
    runner.start()
    try:
        for start, end in itertools.pairwise(cuts):
            with open(path, "ab") as handle:
                handle.write(data[start:end])
        _wait(lambda: score.tally.rows == rows, "every row to be scored")
    finally:
        stop.set()
        runner.join()
        sink.close()
    whole = path.parent / "whole.jsonl"
    score_files(flow_scorer(bundle, [path], fmt, None, None, UNSIGNED), fmt, [path], whole)
    return followed.read_bytes(), whole.read_bytes()


def test_following_a_growing_file_gives_the_alerts_of_the_finished_file(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """The file grows in three appends, one ending mid-line; once every row is scored the
    alerts are byte for byte those of ``fedsec detect`` on the finished file."""
    data = flows_csv.read_bytes()
    cuts = [len(data) // 3, len(data) // 3 + 7, 2 * len(data) // 3, len(data)]
    path = tmp_path / "growing.csv"
    path.write_bytes(data[: cuts[0]])
    rows = len(pd.read_csv(flows_csv))
    followed, expected = _followed_and_whole(bundle, data, cuts, path, "flows", rows)
    assert expected.count(b"\n") > 50
    assert followed == expected


def test_follow_takes_exactly_one_file(bundle, flows_csv, tmp_path):  # noqa: F811
    with pytest.raises(InputError, match="--follow follows one file"):
        run_detection(
            bundle,
            [flows_csv, flows_csv],
            "flows",
            tmp_path / "a.jsonl",
            trust=UNSIGNED,
            follow=FollowOptions(),
            stop=threading.Event(),
        )


def test_sigterm_ends_detect_follow_cleanly(bundle, flows_csv, tmp_path):  # noqa: F811
    """The command runs until SIGTERM; then it exits 0 with its summary, every alert line
    whole."""
    path = tmp_path / "growing.csv"
    path.write_bytes(flows_csv.read_bytes())
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(bundle), "--format", "flows", "--input", str(path)]
    args += ["--out", str(out), "--allow-unsigned", "--follow", "--poll", "0.05"]
    env = {**os.environ, "COLUMNS": "200"}
    command = subprocess.Popen(
        [sys.executable, "-m", "fedsec", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait(lambda: out.exists() and out.stat().st_size > 0, "the first alerts")
        command.send_signal(signal.SIGTERM)
        stdout, stderr = command.communicate(timeout=HANG)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0, stderr
    rows = len(pd.read_csv(flows_csv))
    assert f"{rows:,} rows scored" in " ".join(stdout.split())
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(line.startswith(b"{") for line in lines[:-1])


@pytest.fixture(scope="module")
def conn_log(tmp_path_factory):
    """Simulated flows of every organization as one Zeek conn.log (ASCII, header block)."""
    flows = pd.concat(t.flows for t in simulate(load_simulation("consortium", ["flows=1000"])).orgs)
    return write_records("zeek", flows, tmp_path_factory.mktemp("zeek") / "conn.log")


def test_following_a_growing_zeek_log_gives_the_alerts_of_the_finished_log(
    bundle,  # noqa: F811
    conn_log,
    tmp_path,
):
    """A Zeek log grows line by line and in a block cut mid-line; each batch is read with the
    log's header block, rows keep their data row in the log."""
    data = conn_log.read_bytes()
    body = data.index(b"\n", data.index(b"#types")) + 1
    cuts = [body + 200, body + 200 + len(data[body:]) // 2, len(data)]
    path = tmp_path / "conn.log"
    path.write_bytes(data[: cuts[0]])
    rows = sum(1 for line in data[body:].splitlines() if not line.startswith(b"#"))
    followed, expected = _followed_and_whole(bundle, data, cuts, path, "zeek", rows)
    assert expected.count(b"\n") > 5
    assert followed == expected


def test_following_a_growing_zeek_json_log_gives_the_alerts_of_the_finished_log(
    bundle,  # noqa: F811
    conn_log,
    tmp_path,
):
    """A Zeek JSON log (no header: each batch's columns are its records' keys) grows in a block
    cut mid-line; the alerts are byte for byte those of the finished log read chunk by chunk."""
    data = write_zeek_json(conn_log, tmp_path / "whole.json").read_bytes()
    cuts = [300, len(data) // 2 + 11, len(data)]
    path = tmp_path / "conn.json"
    path.write_bytes(data[: cuts[0]])
    rows = data.count(b"\n")
    followed, expected = _followed_and_whole(bundle, data, cuts, path, "zeek", rows)
    assert expected.count(b"\n") > 5
    assert followed == expected


def test_a_services_alerts_are_dated_when_their_batch_is_scored(bundle, flows_csv, tmp_path):  # noqa: F811
    """Rows without a time of their own take when their alert was made as ``@timestamp``:
    for a service, when their batch was scored, not when the service began (hours or days
    before, which put them in the wrong place of every timeline)."""
    from datetime import datetime

    from fedsec.detect.ecs import AlertSource
    from fedsec.detect.formats import AlertFormat

    frame = pd.read_csv(flows_csv).head(1200).assign(timestamp="")
    path = tmp_path / "flows.csv"
    frame.head(600).to_csv(path, index=False)
    rest = frame.iloc[600:].to_csv(index=False, header=False).encode()
    source = AlertSource(model_sha256="ab" * 32, model_kind="family-classifier")
    score = flow_scorer(
        bundle, [path], "flows", None, 0.0, UNSIGNED, alerts=AlertFormat("ecs", source)
    )
    stop, sink = threading.Event(), open(tmp_path / "alerts.jsonl", "wb")  # noqa: SIM115
    runner = threading.Thread(
        target=follow, args=(path, "flows", score, sink, stop, FollowOptions(poll=0.01))
    )
    runner.start()
    try:
        _wait(lambda: score.tally.rows == 600, "the first batch")
        time.sleep(1.1)  # the next batch comes a second later
        with open(path, "ab") as handle:
            handle.write(rest)
        _wait(lambda: score.tally.rows == 1200, "the second batch")
    finally:
        stop.set()
        runner.join()
        sink.close()
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    stamps = {
        batch: {a["@timestamp"] for a in alerts if (a["fedsec"]["source_row"] > 600) == batch}
        for batch in (False, True)
    }
    assert all(len(s) == 1 for s in stamps.values())  # one stamp a batch
    first, second = (datetime.fromisoformat(next(iter(stamps[b]))) for b in (False, True))
    assert (second - first).total_seconds() >= 1.0
    assert all(a["@timestamp"] == a["event"]["created"] for a in alerts)

"""``fedsec detect --follow --state FILE``: a restart resumes after the last scored line, through
a rotation while stopped, and each alert is in the alerts file once (what a crash wrote after
the last kept position is cut back and scored again); a state that does not fit is refused."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import replace

import pytest

from fedsec.core.errors import InputError
from fedsec.detect import follow_state
from fedsec.detect.dispatch import run_detection
from fedsec.detect.follow import FollowOptions
from fedsec.detect.formats import FLAT
from tests.detect.simulated_flows import UNSIGNED, bundle, flows_csv  # noqa: F401 (fixtures)

HANG = 180.0  # seconds: a guard against a hang, never a measure


def _follow_until(bundle, path, out, state, rows: int, rejects=None):  # noqa: F811
    """Follow ``path`` with ``state`` until the kept position has ``rows`` data rows of the
    file it is in, then stop as SIGTERM would."""
    stop = threading.Event()
    done: dict = {}

    def run() -> None:
        try:
            done["summary"] = run_detection(
                bundle,
                [path],
                "flows",
                out,
                trust=UNSIGNED,
                follow=FollowOptions(poll=0.01, state=state),
                stop=stop,
                alert_options=_flat(),
                rejects=rejects,
            )
        except Exception as error:  # raised again below, in the test's thread
            done["error"] = error

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + HANG
    try:
        while "error" not in done and _kept_rows(state) != rows:
            assert time.monotonic() < deadline, f"gave up waiting for {rows} rows"
            time.sleep(0.01)
    finally:
        stop.set()
        runner.join()
    if "error" in done:
        raise done["error"]
    return done["summary"]


def _flat():
    from fedsec.detect.alert_options import AlertOptions

    return AlertOptions(FLAT.name)


def _kept_rows(state) -> int | None:
    try:
        return json.loads(state.read_text())["rows"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _comparable(records: list[dict]) -> list[dict]:
    """Alerts without where they were read (the file, its row) and the run's own row count."""
    where = ("source_file", "source_row", "row")
    return [{k: v for k, v in r.items() if k not in where} for r in records]


def test_a_restart_resumes_after_the_last_line_through_a_rotation_while_stopped(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """Stopped after a third of the rows; meanwhile the file grows and is rotated (renamed in
    its folder, a new one begun). The second run reads the old file on from its position, then
    the new one: the alerts are those of the whole data, once each, in order."""
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    thirds = [rows[: len(rows) // 3], rows[len(rows) // 3 : 2 * len(rows) // 3]]
    thirds.append(rows[2 * len(rows) // 3 :])
    path, out, state = tmp_path / "flows.csv", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    path.write_bytes(header + b"".join(thirds[0]))
    _follow_until(bundle, path, out, state, len(thirds[0]))
    first = _records(out)
    with open(path, "ab") as handle:
        handle.write(b"".join(thirds[1]))
    os.rename(path, tmp_path / "flows.csv.1")
    path.write_bytes(header + b"".join(thirds[2]))
    summary = _follow_until(bundle, path, out, state, len(thirds[2]))
    assert summary.rows == len(thirds[1]) + len(thirds[2])
    assert any("resumed at byte" in notice for notice in summary.notices)
    whole = tmp_path / "whole.jsonl"
    run_detection(bundle, [flows_csv], "flows", whole, trust=UNSIGNED, alert_options=_flat())
    expected = _records(whole)
    assert len(expected) > len(first) > 5
    assert _records(out)[: len(first)] == first  # appended to, not rewritten
    assert _comparable(_records(out)) == _comparable(expected)


def test_what_a_crash_wrote_after_the_kept_position_is_cut_back_and_scored_again(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """A crash between a batch's alerts and its kept position leaves alerts (perhaps half a
    line) the position does not cover: the restart cuts them off, then scores their lines."""
    path, out, state = tmp_path / "flows.csv", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    data = flows_csv.read_bytes()
    path.write_bytes(data)
    rows = data.count(b"\n") - 1
    _follow_until(bundle, path, out, state, rows)
    expected = out.read_bytes()
    # the position a batch earlier: the alerts of its last 50 rows are in the file, uncovered
    lines = data.splitlines(keepends=True)
    earlier = len(data) - sum(len(line) for line in lines[-50:])
    covered = _alerts_before(out, rows - 50)
    kept = follow_state.load(state)
    follow_state.save(state, replace(kept, offset=earlier, rows=rows - 50, alerts_bytes=covered))
    with open(out, "ab") as handle:
        handle.write(b'{"row": 1, "family": "dos", "sco')  # written, then the crash
    summary = _follow_until(bundle, path, out, state, rows)
    assert summary.rows == 50
    again = out.read_bytes()
    assert again[:covered] == expected[:covered] and again.endswith(b"\n")
    assert _comparable(_records(out)) == _comparable(_records_of(expected))


def _records_of(text: bytes) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _alerts_before(out, rows: int) -> int:
    """Bytes of the alerts of the first ``rows`` data rows."""
    size = 0
    for line in out.read_bytes().splitlines(keepends=True):
        if json.loads(line)["source_row"] > rows:
            break
        size += len(line)
    return size


def test_a_state_that_does_not_fit_is_refused(bundle, flows_csv, tmp_path):  # noqa: F811
    path, out, state = tmp_path / "flows.csv", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    path.write_bytes(flows_csv.read_bytes())
    rows = flows_csv.read_bytes().count(b"\n") - 1
    _follow_until(bundle, path, out, state, rows)
    other = tmp_path / "other.csv"
    other.write_bytes(flows_csv.read_bytes())
    with pytest.raises(
        InputError, match=r"keeps the position in .*flows\.csv, not in .*other\.csv"
    ):
        _follow_until(bundle, other, out, state, rows)
    with pytest.raises(InputError, match="keeps the position of alerts file"):
        _follow_until(bundle, path, tmp_path / "b.jsonl", state, rows)


def test_an_alerts_file_rotated_while_stopped_is_appended_to(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """Logrotate ran while the service was down: the alerts file is shorter than the position
    says. It cannot be cut back; the new alerts go at its end, and a note says the last
    batch's may be there twice (a restart must not fail the morning after a rotation)."""
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    path, out, state = tmp_path / "flows.csv", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    path.write_bytes(b"".join(lines[:half]))
    _follow_until(bundle, path, out, state, half - 1)
    os.rename(out, tmp_path / "alerts.jsonl.1")
    with open(path, "ab") as handle:
        handle.write(b"".join(lines[half:]))
    summary = _follow_until(bundle, path, out, state, len(lines) - 1)
    assert any("was shorter than when the position was kept" in n for n in summary.notices)
    rotated, resumed = _records(tmp_path / "alerts.jsonl.1"), _records(out)
    assert resumed and min(r["source_row"] for r in resumed) >= half
    whole = tmp_path / "whole.jsonl"
    run_detection(bundle, [flows_csv], "flows", whole, trust=UNSIGNED, alert_options=_flat())
    assert _comparable(rotated + resumed) == _comparable(_records(whole))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "corrupt JSON"),
        ('{"format": "x"}', "is not a follow state"),
        ('{"format": "fedsec-follow-state", "version": 9}', "version 9 unsupported"),
        ('{"format": "fedsec-follow-state", "version": 1, "input": 3}', "field 'input'"),
    ],
)
def test_a_damaged_state_is_named(tmp_path, text, problem):
    state = tmp_path / "state.json"
    state.write_text(text)
    with pytest.raises(InputError, match=problem):
        follow_state.load(state)


def test_state_needs_follow_and_a_file_to_follow(bundle, flows_csv, tmp_path):  # noqa: F811
    from typer.testing import CliRunner

    from fedsec.cli import app

    args = ["detect", "--model", str(bundle), "--format", "flows", "--allow-unsigned"]
    args += ["--out", str(tmp_path / "a.jsonl"), "--state", str(tmp_path / "s.json")]
    alone = CliRunner().invoke(app, [*args, "--input", str(flows_csv)])
    assert alone.exit_code == 2 and "add --follow" in alone.output
    piped = CliRunner().invoke(app, [*args, "--input", "-", "--follow"], input="a,b\n")
    assert piped.exit_code == 2 and "a pipe cannot resume where it stopped" in piped.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_malformed_line_is_set_aside_and_the_service_goes_on(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """Without ``--rejects`` the line stops the service, and with ``--state`` on every restart
    (the position stays before it); with it, the line is set aside, the position passes it,
    and every other row is scored."""
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    header = lines[0].decode().rstrip("\n").split(",")
    bad = len(lines) // 2
    cells = lines[bad].decode().rstrip("\n").split(",")
    cells[header.index("fwd_bytes")] = "lots"
    lines[bad] = (",".join(cells) + "\n").encode()
    path, out, state = tmp_path / "flows.csv", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    path.write_bytes(b"".join(lines))
    rows = len(lines) - 1
    with pytest.raises(InputError, match=rf"holds non-numeric value 'lots' \(data row {bad};"):
        _follow_until(bundle, path, out, state, rows)
    rejects = tmp_path / "rejects.jsonl"
    summary = _follow_until(bundle, path, out, state, rows, rejects=rejects)
    assert any("set aside in" in notice for notice in summary.notices)
    [set_aside] = _records(rejects)
    assert set_aside["data_row"] == bad and ",lots," in set_aside["line"]
    assert f"(data row {bad};" in set_aside["problem"]  # the record's row, in its words too
    whole = tmp_path / "whole.jsonl"
    run_detection(bundle, [flows_csv], "flows", whole, trust=UNSIGNED, alert_options=_flat())
    expected = [r for r in _records(whole) if r["source_row"] != bad]
    assert _comparable(_records(out)) == _comparable(expected)


def test_a_flagged_row_whose_time_is_not_a_time_is_set_aside_and_the_service_goes_on(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
):
    """Its alert cannot be written (no time to date it by): without ``--rejects`` the row stops
    the service; with it, its line is set aside as a malformed line is, and the rest scored.
    A row not flagged keeps its unreadable time and is scored (it has no alert to date)."""
    whole = tmp_path / "whole.jsonl"
    run_detection(bundle, [flows_csv], "flows", whole, trust=UNSIGNED, alert_options=_flat())
    alerts = _records(whole)
    flagged = {a["source_row"] for a in alerts}
    bad = alerts[len(alerts) // 2]["source_row"]
    calm = next(row for row in range(bad + 1, bad + 1000) if row not in flagged)
    lines = flows_csv.read_bytes().splitlines(keepends=True)
    for row in (bad, calm):
        lines[row] = b"not-a-time" + lines[row][lines[row].index(b",") :]
    path, out, state = tmp_path / "flows.csv", tmp_path / "alerts.jsonl", tmp_path / "state.json"
    path.write_bytes(b"".join(lines))
    rows = len(lines) - 1
    with pytest.raises(InputError, match=rf"'not-a-time', not a time \(data row {bad}\)"):
        _follow_until(bundle, path, out, state, rows)
    out.unlink(missing_ok=True)
    state.unlink(missing_ok=True)
    rejects = tmp_path / "rejects.jsonl"
    summary = _follow_until(bundle, path, out, state, rows, rejects=rejects)
    assert any("1 line(s) refused" in notice for notice in summary.notices)
    [set_aside] = _records(rejects)
    assert set_aside["data_row"] == bad and set_aside["line"].startswith("not-a-time,")
    assert f"not a time (data row {bad})" in set_aside["problem"]
    assert summary.rows == rows - 1  # the calm row was scored
    expected = [r for r in alerts if r["source_row"] != bad]
    assert _comparable(_records(out)) == _comparable(expected)

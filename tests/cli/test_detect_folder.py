"""``fedsec detect`` and ``fedsec hunt`` given a folder: the files in it of the format (a Zeek
log folder: its conn logs), the same alerts as the files named one by one, what was skipped
said; a folder without such a file, or a folder to ``--follow``, refused: exit 2, nothing
written."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.experiments.demo import run_demo

runner = CliRunner()
TINY = ["flows=4000", "experiment.rounds=5", 'experiment.evaluation.arms=["local", "federated"]']


@pytest.fixture(scope="module")
def zeek_run(tmp_path_factory):
    """A small demo consortium whose telemetry is Zeek conn logs (beside events.csv)."""
    return run_demo(tmp_path_factory.mktemp("demo") / "run", overrides=TINY, fmt="zeek").out


@pytest.fixture
def log_folder(zeek_run, tmp_path):
    """A copy of one organization's Zeek folder with a dns.log and a hidden file beside."""
    folder = tmp_path / "zeek"
    shutil.copytree(zeek_run / "data" / "plant", folder)
    (folder / "dns.log").write_text("#separator \\x09\n#path\tdns\n")
    (folder / ".conn.log.swp").write_text("x")
    return folder


def detect(zeek_run, out, *inputs, more=()):
    args = ["detect", "--model", str(zeek_run / "model"), "--format", "zeek", "--out", str(out)]
    return runner.invoke(app, [*args, "--input", *map(str, inputs), *more])


def alerts(path):
    """The alerts without the time they were written."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        record["event"].pop("created")
    return records


def test_a_folder_is_scored_as_its_conn_logs(zeek_run, log_folder, tmp_path):
    conn_logs = sorted(log_folder.glob("conn.*.log"))
    assert len(conn_logs) > 5
    by_folder = detect(zeek_run, tmp_path / "folder.jsonl", log_folder)
    assert by_folder.exit_code == 0, by_folder.output
    by_name = detect(zeek_run, tmp_path / "named.jsonl", *conn_logs)
    assert by_name.exit_code == 0, by_name.output
    found = alerts(tmp_path / "folder.jsonl")
    assert found and found == alerts(tmp_path / "named.jsonl")
    said = " ".join(by_folder.output.split())
    assert f"reading {len(conn_logs)} zeek files; skipped 2 (dns.log, events.csv)" in said


def test_a_folder_without_conn_logs_is_refused_and_nothing_written(zeek_run, tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    shutil.copy(zeek_run / "data" / "plant" / "events.csv", folder)
    out = tmp_path / "alerts.jsonl"
    result = detect(zeek_run, out, folder)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "holds no file --format zeek reads" in said and "conn.log" in said
    assert not out.exists()


def test_a_folder_is_not_followed(zeek_run, log_folder, tmp_path):
    out = tmp_path / "alerts.jsonl"
    result = detect(zeek_run, out, log_folder, more=["--follow"])
    assert result.exit_code == 2
    assert "--follow follows files as they grow" in " ".join(result.output.split())
    assert not out.exists()


def test_a_hunt_rescans_a_folder(zeek_run, log_folder, tmp_path):
    common = ["hunt", "--model", str(zeek_run / "model"), "--baseline"]
    common += [str(zeek_run / "local" / "plant"), "--org", "plant", "--format", "zeek"]
    by_folder = runner.invoke(
        app, [*common, "--out", str(tmp_path / "a"), "--input", str(log_folder)]
    )
    assert by_folder.exit_code == 0, by_folder.output
    conn_logs = map(str, sorted(log_folder.glob("conn.*.log")))
    by_name = runner.invoke(app, [*common, "--out", str(tmp_path / "b"), "--input", *conn_logs])
    assert by_name.exit_code == 0, by_name.output
    found = [alerts(tmp_path / run / "found.jsonl") for run in "ab"]
    assert found[0] and found[0] == found[1]
    families = [json.loads((tmp_path / run / "hunt.json").read_text())["families"] for run in "ab"]
    assert families[0] == families[1]

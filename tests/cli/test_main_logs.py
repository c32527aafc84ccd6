"""The logs task from the command line: simulate, detect on sequence files and raw logs (one
alert per anomalous session naming the unexpected events), and clean failures."""

import gzip
import itertools
import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.logs_bundle import load_log_bundle
from fedsec.cli import app
from fedsec.core.errors import BundleError
from fedsec.data.logs.loghub import read_templates
from tests.conftest import dataset

runner = CliRunner()
SMALL = [
    "--set", "logs.sources.0.max_sessions=1500",
    "--set", "logs.sources.1.max_sessions=1500",
    "--set", "logs.sources.2.max_sessions=2000",
    "--set", "rounds=4", "--set", "training.local_steps=5", "--set", "logs.hidden=16",
    "--set", "logs.layers=1", "--set", "evaluation.curve_points=2",
]  # fmt: skip
AIT = "log-sequences-ait"
HUB = "loghub-2k"
HDFS_TEMPLATES = f"{AIT}/templates/HDFS_templates.csv.gz"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("logs-cli") / "run"
    args = ["simulate", "hdfs-5org", "--out", str(out), "--data-dir", str(data_dir), *SMALL]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_simulate_writes_a_logs_run_directory(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.toml", "metrics.json", "report.md", "loss_per_round.png", "model"} <= names
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for arm in ("centralized", "local", "federated"):
        assert {"f1", "precision", "recall"} <= set(metrics["arms"][arm]["overall"])
    report = (run_dir / "report.md").read_text()
    assert "count PCA" in report and "Per organization" in report
    assert all(f"]({png.name})" in report for png in run_dir.glob("*.png"))
    model, manifest = load_log_bundle(run_dir / "model")
    assert manifest["kind"] == "deeplog" and manifest["namespaces"]["org1"] == "hdfs"
    assert model.score == manifest["score"] == "max-surprise" and not model.top_k_
    assert set(model.thresholds_) == {"org1", "org2", "org3", "org4", "org5", "*"}


def _detect(run_dir, out, *args):
    return runner.invoke(
        app, ["detect", "--model", str(run_dir / "model"), "--out", str(out), *args]
    )


def test_detect_names_the_unexpected_events(run_dir, tmp_path):
    path = tmp_path / "sessions"
    normal = "5 5 5 22 11 9 11 9 11 9 26 26 26 23 23 23 21 21 21"
    path.write_text(f"blk_ok,{normal}\nblk_short,5 22\n")
    other = tmp_path / "more_sessions"
    other.write_text(f"blk_ok2,{normal}\nblk_new,5 5 5 22 7\n")
    out = tmp_path / "alerts.jsonl"
    templates = dataset(HDFS_TEMPLATES)
    result = _detect(
        run_dir,
        out,
        "--input",
        str(path),
        str(other),
        "--format",
        "sequences",
        "--templates",
        str(templates),
        "--org",
        "org2",
    )
    assert result.exit_code == 0, result.output
    documents = [json.loads(line) for line in out.read_text().splitlines()]
    assert {d["log"]["file"]["path"] for d in documents} == {str(path), str(other)}
    alerts = {d["fedsec"]["session"]: d["fedsec"] for d in documents}
    assert "blk_new" in alerts and "blk_short" in alerts
    files = {d["fedsec"]["session"]: d["log"]["file"]["path"] for d in documents}
    assert files["blk_short"] == str(path) and files["blk_new"] == str(other)
    unseen = [
        u for u in alerts["blk_new"]["reasons"] if u["reason"] == "event never seen in training"
    ]
    assert unseen and unseen[0]["position"] == 4 and unseen[0]["event"] == "7"
    assert unseen[0]["template"] == read_templates(templates)["7"]
    assert all(a["score"] > a["threshold"] for a in alerts.values())


def test_detect_on_raw_hdfs_logs_groups_blocks(run_dir, tmp_path):
    out = tmp_path / "alerts.jsonl"
    raw = dataset("loghub-2k/HDFS/HDFS_2k.log.gz")
    args = [
        "--input",
        str(raw),
        "--format",
        "raw-log",
        "--log-format",
        "HDFS",
        "--session-key",
        r"(blk_-?\d+)",
    ]
    result = _detect(run_dir, out, *args)
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line)["fedsec"] for line in out.read_text().splitlines()]
    assert alerts and all(a["session"].startswith("blk_") for a in alerts)
    sessions = len({a["session"] for a in alerts})  # the summary counts sessions, not rows
    assert re.search(rf"[\d,]+ sessions scored, {len(alerts):,} alerts", result.output)
    assert sessions <= len(alerts)
    assert all(
        u.get("template") for a in alerts for u in a["reasons"] if u["event"] != "<end of session>"
    )


def _hdfs_slice(tmp_path, lines=100):
    path = tmp_path / "hdfs_train_slice"
    with gzip.open(dataset(f"{AIT}/hdfs_logdeep/hdfs_train.gz"), "rt") as source:
        path.write_text("".join(itertools.islice(source, lines)))
    return path


@pytest.mark.parametrize(
    ("args", "cause"),
    [
        (["--format", "sequences"], "give --templates"),
        (
            ["--format", "raw-log", "--log-format", "BGL", "--session-key", "blk_-?\\d+"],
            "--log-format",
        ),
    ],
)
def test_detect_refuses_an_input_mostly_unknown_to_the_model(run_dir, tmp_path, args, cause):
    """A bundle trained on template text scored sequences without --templates, or HDFS lines
    split by BGL's header, as 100% never-seen events: an alert per session, exit 0."""
    raw = "--format raw-log" in " ".join(args)
    path = dataset(f"{HUB}/HDFS/HDFS_2k.log.gz") if raw else _hdfs_slice(tmp_path)
    out = tmp_path / "alerts.jsonl"
    result = _detect(run_dir, out, "--input", str(path), *args)
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and not out.exists(), output
    assert "100% of the" in output and "unknown to the model" in output
    assert cause in output and str(path) in output
    if not raw:
        templates = ["--templates", str(dataset(HDFS_TEMPLATES))]
        assert _detect(run_dir, out, "--input", str(path), *args, *templates).exit_code == 0


def test_sessions_sharing_an_id_get_alerts_of_their_own(run_dir, tmp_path):
    """A repeated line, or two sessions under one id, got one event.id: a SIEM deduplicating
    on it kept one alert of them."""
    with gzip.open(dataset(f"{AIT}/hdfs_loghub/hdfs_test_abnormal.gz"), "rt") as source:
        lines = [next(source).strip() for _ in range(3)]
    first = lines[0].split(",")[0]
    path = tmp_path / "sessions"
    path.write_text("\n".join([*lines, lines[0], f"{first},{lines[1].split(',', 1)[1]}"]) + "\n")
    documents = []
    for out in (tmp_path / "a.jsonl", tmp_path / "b.jsonl"):
        args = ["--input", str(path), "--format", "sequences"]
        result = _detect(run_dir, out, *args, "--templates", str(dataset(HDFS_TEMPLATES)))
        assert result.exit_code == 0, result.output
        documents.append([json.loads(line) for line in out.read_text().splitlines()])
    ids = [d["event"]["id"] for d in documents[0]]
    assert [d["fedsec"]["session"] for d in documents[0]].count(first) == 3
    assert len(set(ids)) == len(ids) == 5
    assert [d["fedsec"].get("occurrence", 0) for d in documents[0]] == [0, 0, 0, 1, 2]
    assert ids == [d["event"]["id"] for d in documents[1]]  # the same file keeps its ids


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        ("", "sequences", "no sessions (empty file)"),
        ("blk_1,5 ## 9\n", "sequences", "malformed event id"),
        ("blk_1,5 5\n", "evtx", "unknown log format 'evtx'"),
    ],
)
def test_detect_bad_input_fails_cleanly(run_dir, tmp_path, content, fmt, message):
    path = tmp_path / "input"
    path.write_text(content)
    out = tmp_path / "alerts.jsonl"
    result = _detect(run_dir, out, "--input", str(path), "--format", fmt)
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert message in output and str(path) in output
    assert not out.exists()


def test_corrupt_or_mismatched_bundles_are_refused(run_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(run_dir / "model", copy)
    with pytest.raises(BundleError, match="not a 'family-classifier'"):
        load_bundle(copy)
    weights = copy / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    path = tmp_path / "s"
    path.write_text("blk_1,5 22\n")
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(copy),
            "--input",
            str(path),
            "--format",
            "sequences",
            "--out",
            str(out),
        ],
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and "sha256" in output and str(copy) in output
    assert not out.exists()
    (copy / "bundle.json").write_text("{not json")
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(copy),
            "--input",
            str(path),
            "--format",
            "sequences",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2 and "corrupt JSON" in " ".join(result.output.split())


def test_scenarios_lists_the_log_builtins():
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    assert "hdfs-5org" in result.output and "logs-cross-system" in result.output

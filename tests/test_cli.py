"""The command line as a user runs it: outputs, exit codes, clear errors, nothing half-written."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.conftest import dataset

runner = CliRunner()
SMALL = ["--set", "data.max_rows=8000", "--set", "rounds=20", "--set", "evaluation.curve_points=3"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("cli") / "run"
    result = runner.invoke(
        app,
        [
            "simulate",
            "unsw-5org-disjoint",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--seed",
            "3",
            *SMALL,
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_scenarios_lists_the_builtins():
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    for name in (
        "unsw-5org-disjoint",
        "cicids-5org-disjoint",
        "nslkdd-5org-disjoint",
        "toniot-devices",
        "cross-dataset",
    ):
        assert name in result.output


def test_simulate_writes_a_complete_run_directory(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.toml",
        "metrics.json",
        "report.md",
        "macro_f1_per_round.png",
        "per_org_comparison.png",
        "model",
    } <= names
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["seed"] == 3 and metrics["timing"]["wall_s"] > 0
    for arm in ("centralized", "local", "federated"):
        overall = metrics["arms"][arm]["overall"]
        assert {"macro_f1", "benign_fpr", "unseen_family_recall"} <= set(overall)
        assert set(metrics["arms"][arm]["per_org"]) == {f"org{i}" for i in range(1, 6)}
    assert "seed = 3" in (run_dir / "config.toml").read_text()
    assert "## Per organization" in (run_dir / "report.md").read_text()
    assert (run_dir / "macro_f1_per_round.png").read_bytes()[:4] == b"\x89PNG"


def _unsw_slice(tmp_path, rows=400, drop=None):
    frame = pd.read_csv(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz"), encoding="utf-8-sig")
    frame = frame.sample(rows, random_state=0)
    if drop:
        frame = frame.drop(columns=[drop])
    path = tmp_path / "flows.csv"
    frame.to_csv(path, index=False)
    return path


def test_detect_writes_alerts_for_flagged_flows(run_dir, tmp_path):
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--input",
            str(_unsw_slice(tmp_path)),
            "--format",
            "unsw-nb15",
            "--out",
            str(out),
            "--org",
            "org2",
        ],
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert 100 < len(alerts) < 400
    assert all(a["family"] != "benign" and 0 <= a["score"] <= 1 for a in alerts)
    truly_attacks = sum(a["dataset_label"] != "Normal" for a in alerts)
    assert truly_attacks / len(alerts) > 0.9
    assert "alerts" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "unsw-nb15", "--drop", "sbytes"], "sbytes"),
        (["--format", "nf-v2"], "TCP_FLAGS"),
        (["--format", "unsw-nb15", "--org", "org9"], "no threshold for org"),
    ],
)
def test_detect_bad_input_fails_cleanly(run_dir, tmp_path, args, message):
    drop = args[args.index("--drop") + 1] if "--drop" in args else None
    args = [a for a in args if a not in ("--drop", drop)]
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--input",
            str(_unsw_slice(tmp_path, 50, drop)),
            "--out",
            str(out),
            *args,
        ],
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_detect_refuses_a_corrupt_bundle(run_dir, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "bundle.json").write_text((run_dir / "model" / "bundle.json").read_text())
    (broken / "weights.safetensors").write_bytes(b"\x00" * 64)
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(broken),
            "--input",
            str(_unsw_slice(tmp_path, 20)),
            "--format",
            "unsw-nb15",
            "--out",
            str(tmp_path / "a.jsonl"),
        ],
    )
    assert result.exit_code == 2 and "sha256" in result.output


def test_simulate_errors_exit_non_zero_and_write_nothing(tmp_path, data_dir):
    out = tmp_path / "never"
    bad_field = runner.invoke(
        app,
        [
            "simulate",
            "unsw-5org-disjoint",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--set",
            "rounds=-1",
        ],
    )
    assert bad_field.exit_code == 2 and "rounds" in bad_field.output
    no_data = runner.invoke(
        app, ["simulate", "unsw-5org-disjoint", "--out", str(out), "--data-dir", str(tmp_path)]
    )
    assert no_data.exit_code == 2 and "not found" in no_data.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]


def test_detect_on_an_empty_file_names_it(run_dir, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--input",
            str(empty),
            "--format",
            "unsw-nb15",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert "empty.csv" in result.output and "empty" in result.output
    assert not out.exists()


def _unlabelled_slices(tmp_path, count=2, rows=150):
    frame = pd.read_csv(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz"), encoding="utf-8-sig")
    frame = frame.drop(columns=["attack_cat", "label"]).sample(rows * count, random_state=1)
    paths = []
    for i in range(count):
        path = tmp_path / f"new_flows_{i}.csv"
        frame.iloc[i * rows : (i + 1) * rows].to_csv(path, index=False)
        paths.append(path)
    return paths


def _detect(run_dir, out, *args):
    return runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(run_dir / "model"),
            "--format",
            "unsw-nb15",
            "--out",
            str(out),
            *args,
        ],
    )


def test_detect_scores_unlabelled_files_given_after_one_input_flag(run_dir, tmp_path):
    first, second = _unlabelled_slices(tmp_path)
    out = tmp_path / "alerts.jsonl"
    result = _detect(run_dir, out, "--input", str(first), str(second))
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert {a["source_file"] for a in alerts} == {str(first), str(second)}
    for alert in alerts:  # the file and data row named hold the flow (UNSW ids are unique)
        rows = pd.read_csv(alert["source_file"])
        assert rows["id"].iloc[alert["source_row"] - 1] == alert["flow_id"]
        assert "dataset_label" not in alert
    assert "attacks per the input's own labels" not in result.output
    repeated = tmp_path / "repeated.jsonl"
    again = _detect(run_dir, repeated, "--input", str(first), "--input", str(second))
    assert again.exit_code == 0, again.output
    assert repeated.read_text() == out.read_text()


def test_detect_needs_an_input(run_dir, tmp_path):
    result = _detect(run_dir, tmp_path / "alerts.jsonl")
    assert result.exit_code == 2
    assert "give at least one file to score" in result.output

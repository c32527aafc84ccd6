"""Bring your own telemetry end to end: a scenario reading a shared dataset through the example
mapping file (no reader of its own), then ``fedsec detect --format mapped --mapping``."""

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.conftest import REPO, dataset

runner = CliRunner()
SCENARIO = REPO / "examples" / "scenarios" / "cicids2017-mapped.toml"
MAPPING = REPO / "examples" / "mappings" / "cicids2017-mlcve.toml"
MLCVE = "cic-ids2017/mlcve_multiclass/cic_ids2017_multiclass.csv.gz"
HANG = 120.0  # seconds: a guard against a hang, never a measure


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("mapped") / "run"
    small = ["--set", "rounds=4", "--set", "data.max_rows=3000"]
    args = ["simulate", str(SCENARIO), "--out", str(out), "--data-dir", str(data_dir), *small]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_the_mapped_scenario_trains_on_the_native_features(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["arms"]) >= {"centralized", "federated"}
    manifest = json.loads((run_dir / "model" / "bundle.json").read_text())
    assert manifest["provenance"]["input_formats"] == ["mapped"]
    config = (run_dir / "config.toml").read_text()
    assert "[data.sources.mapping]" in config and '"Destination Port"' in config


def test_detect_scores_a_file_through_the_same_mapping(run_dir, tmp_path):
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(run_dir / "model"), "--format", "mapped"]
    args += ["--mapping", str(MAPPING), "--input", str(dataset(MLCVE)), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    documents = [json.loads(line) for line in out.read_text().splitlines()]
    assert documents[0]["destination"]["port"] >= 0  # the mapping's [roles] dst_port
    alerts = [document["fedsec"] for document in documents]
    assert alerts[0]["source_row"] >= 1
    truth = [a["dataset_label"] for a in alerts]
    assert sum(label != "BENIGN" for label in truth) > 0.8 * len(truth)


def test_detect_without_the_mapping_says_what_is_missing(run_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(run_dir / "model", copy)
    args = ["detect", "--model", str(copy), "--format", "mapped", "--input", str(dataset(MLCVE))]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 2 and "format 'mapped' needs a mapping" in result.output


def test_a_kept_copy_of_the_label_is_refused_unless_opted_in_and_absolute_paths_need_no_data_dir(
    tmp_path, monkeypatch
):
    """A mapping that leaves a copy of the label among the features would train on the answer:
    refused before training, naming the column and the file, unless the mapping opts in with
    ``label_copies`` (then warned of on the console). The file is given by absolute path, so
    no data directory is needed."""
    import pandas as pd

    rows = pd.read_csv(dataset(MLCVE), nrows=3000).rename(columns=str.strip)
    rows["Verdict"] = (rows["Label"] != "BENIGN").astype(int) * 3  # the label, as a code
    flows = tmp_path / "flows.csv"
    rows.to_csv(flows, index=False)
    text = SCENARIO.read_text().replace(f'"{MLCVE}"', f'"{flows}"')
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING.read_text())
    text = text.replace(f'"../mappings/{MAPPING.name}"', f'"{mapping}"')
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(text)
    monkeypatch.delenv("FEDSEC_DATA", raising=False)
    small = ["--set", "rounds=2", "--set", 'evaluation.arms=["federated"]']
    args = ["simulate", str(scenario), "--out", str(tmp_path / "run"), *small]
    result = runner.invoke(app, args)
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and f"{flows}: feature column 'Verdict' tells attack" in said
    assert "label_copies = ['Verdict']" in said and not (tmp_path / "run").exists()
    mapping.write_text('label_copies = ["Verdict"]\n' + MAPPING.read_text())
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    warning = " ".join(result.output.split())
    assert "warning:" in warning and "'Verdict' tells attack from benign on every row" in warning


def test_a_feature_the_input_never_fills_is_said_not_scored_silently(run_dir, tmp_path):
    """A file whose column is empty throughout (a field the mapping cannot fill) is scored
    with the training mean in its place: detect says so, naming it, brackets and all."""
    import pandas as pd

    rows = pd.read_csv(dataset(MLCVE), nrows=2000).rename(columns=str.strip)
    rows["Total Fwd Packets"] = float("nan")
    flows = tmp_path / "flows.csv"
    rows.to_csv(flows, index=False)
    mapping = tmp_path / "mapping.toml"
    text = MAPPING.read_text().replace("nonfinite = [", 'nonfinite = [\n    "Total Fwd Packets",')
    mapping.write_text(text)
    args = ["detect", "--model", str(run_dir / "model"), "--format", "mapped"]
    args += ["--mapping", str(mapping), "--input", str(flows), "--out", str(tmp_path / "a.jsonl")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "no value for Total Fwd Packets in its first 2,000 rows" in said
    assert "mapping's [canonical] table" in said


def test_a_column_the_model_does_not_use_is_ignored_and_one_it_needs_is_named(run_dir, tmp_path):
    """A file adds a free-text column (a note, another tool's field): not a feature of the
    model, so neither parsed as a number nor refused; the same alerts as without it."""
    import pandas as pd

    rows = pd.read_csv(dataset(MLCVE), nrows=2000).rename(columns=str.strip)
    plain, extra = tmp_path / "plain.csv", tmp_path / "extra.csv"
    rows.to_csv(plain, index=False)
    rows.assign(Comment="seen by the night shift, twice").to_csv(extra, index=False)
    scores = []
    for path in (plain, extra):
        out = tmp_path / f"{path.stem}.jsonl"
        args = ["detect", "--model", str(run_dir / "model"), "--format", "mapped"]
        result = runner.invoke(
            app, [*args, "--mapping", str(MAPPING), "--input", str(path), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        alerts = [json.loads(line) for line in out.read_text().splitlines()]
        scores.append([alert["fedsec"]["score"] for alert in alerts])
    assert scores[0] and scores[0] == scores[1]
    rows.drop(columns="Flow IAT Max").to_csv(plain, index=False)
    args = ["detect", "--model", str(run_dir / "model"), "--format", "mapped", "--mapping"]
    result = runner.invoke(
        app, [*args, str(MAPPING), "--input", str(plain), "--out", str(tmp_path / "x.jsonl")]
    )
    assert result.exit_code == 2 and "missing required columns: Flow IAT Max" in result.output


def test_a_hunt_through_a_mapping_ignores_a_column_neither_model_uses(run_dir, tmp_path):
    """As detect: the rows read once for both models, each model's own columns."""
    import pandas as pd

    rows = pd.read_csv(dataset(MLCVE), nrows=2000).rename(columns=str.strip)
    flows = tmp_path / "flows.csv"
    rows.assign(Comment="seen by the night shift, twice").to_csv(flows, index=False)
    baseline = sorted((run_dir / "local").iterdir())[0]
    args = ["hunt", "--model", str(run_dir / "model"), "--baseline", str(baseline)]
    args += ["--org", baseline.name, "--format", "mapped", "--mapping", str(MAPPING)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "hunt"), "--input", str(flows)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "hunt" / "hunt.json").read_text())
    assert summary["model"]["alerts"] > 0


def test_detect_names_a_label_column_the_file_lacks_and_scores_it_unlabeled(run_dir, tmp_path):
    """A typo in the mapping's label (``Labl``) is not an error when scoring (labels are
    optional there), but it is said, naming the closest column, not silently unlabeled."""
    mapping = tmp_path / "typo.toml"
    mapping.write_text(MAPPING.read_text().replace('label = "Label"', 'label = "Labl"'))
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(run_dir / "model"), "--format", "mapped"]
    args += ["--mapping", str(mapping), "--input", str(dataset(MLCVE)), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "note:" in said and "label 'Labl' is not a column of the file" in said
    assert "(closest column: 'Label')" in said
    alerts = [json.loads(line)["fedsec"] for line in out.read_text().splitlines()]
    assert alerts and not any("dataset_label" in alert for alert in alerts)


def test_a_named_pipe_through_a_mapping_is_read_once_whole(run_dir, tmp_path):
    """The mapping's label check reads no header from a named pipe (it took the pipe's first
    bytes before, cutting the writer off, and the scan then waited for a writer): every byte
    sent is scored and hashed."""
    with gzip.open(dataset(MLCVE), "rb") as source:
        sent = b"".join(next(source) for _ in range(1500))  # header and 1,499 rows
    fifo, record = tmp_path / "flows.fifo", tmp_path / "run.json"
    os.mkfifo(fifo)

    def send() -> None:
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as pipe:
            pipe.write(sent)

    threading.Thread(target=send, daemon=True).start()
    args = [sys.executable, "-m", "fedsec", "detect", "--model", str(run_dir / "model")]
    args += ["--format", "mapped", "--mapping", str(MAPPING), "--input", str(fifo)]
    args += ["--out", str(tmp_path / "a.jsonl"), "--provenance", str(record)]
    try:
        done = subprocess.run(args, capture_output=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"detect still waiting on the named pipe after {HANG:.0f} s")
    assert done.returncode == 0, done.stderr.decode()
    run = json.loads(record.read_text())
    assert run["rows"] == 1499
    assert run["inputs"][0]["bytes"] == len(sent)
    assert run["inputs"][0]["sha256"] == hashlib.sha256(sent).hexdigest()

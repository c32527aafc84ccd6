"""``fedsec simulate`` on an anomaly scenario: a complete run directory, or nothing at all."""

import json
import re

from typer.testing import CliRunner

from fedsec.cli import app

runner = CliRunner()
TINY = [
    *("--set", "data.max_rows=5000", "--set", "rounds=3"),
    *("--set", 'anomaly.models=["ae"]', "--set", "anomaly.iforest_trees=10"),
]


def test_simulate_anomaly_writes_a_complete_run_directory(tmp_path, data_dir):
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["simulate", "nslkdd-anomaly", "--out", str(out), "--data-dir", str(data_dir), *TINY],
    )
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {
        "config.toml",
        "metrics.json",
        "report.md",
        "roc_curves.png",
        "score_histograms.png",
        "per_org_roc_auc.png",
        "model",
    } <= names
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "anomaly"
    timing = metrics["timing"]
    assert set(timing["arms_s"]) == set(metrics["arms"])
    assert timing["wall_s"] >= timing["load_s"] + sum(timing["arms_s"].values())
    assert metrics["arms"]["federated_ae"]["overall"]["roc_auc"] is not None
    manifest = json.loads((out / "model" / "bundle.json").read_text())
    assert manifest["kind"] == "anomaly-detector"
    assert manifest["provenance"]["arm"] == "federated_ae"
    assert set(manifest["thresholds"]) == {"org1", "org2", "org3", "org4", "org5", "*"}
    assert 'task = "anomaly"' in (out / "config.toml").read_text()
    assert (out / "roc_curves.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert all(f"]({png.name})" in report for png in out.glob("*.png"))
    assert "federated_ae" in result.output


def test_bad_anomaly_config_exits_non_zero_and_writes_nothing(tmp_path, data_dir):
    out = tmp_path / "never"
    for setting, message in (
        ('anomaly.models=["pca"]', "anomaly.models"),
        ('anomaly.models=["ae", "ae"]', "twice"),
        ("anomaly.bottleneck=0", "anomaly.bottleneck"),
    ):
        result = runner.invoke(
            app,
            [
                "simulate",
                "unsw-5org-anomaly",
                "--out",
                str(out),
                "--data-dir",
                str(data_dir),
                "--set",
                setting,
            ],
        )
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and message in text, (setting, text)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]


def test_a_shared_autoencoder_as_wide_as_its_input_exits_2_and_writes_nothing(tmp_path, data_dir):
    """200 on UNSW's features was trained, scored and shipped with exit 0: a code that wide can
    copy every row, attacks too. Refused naming the setting, its value and the input width."""
    out = tmp_path / "never"
    result = runner.invoke(
        app,
        ["simulate", "unsw-5org-anomaly", "--out", str(out), "--data-dir", str(data_dir),
         *TINY, "--set", "anomaly.bottleneck=200"],
    )  # fmt: skip
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    said = re.search(r"anomaly\.bottleneck = 200 is not narrower than the shared autoencoder's "
                     r"input, (\d+) features", text)  # fmt: skip
    assert said and int(said[1]) < 200, text
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]

"""``fedsec detect`` with an anomaly bundle: alerts with score, threshold and top features;
bad input fails cleanly, naming the problem, and writes nothing."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.detect.dispatch import run_detection
from tests.detect.fresh_imports import detect_run_loads

runner = CliRunner()


@pytest.fixture(scope="module")
def bundle(anomaly_bundle):
    return anomaly_bundle


@pytest.fixture(scope="module")
def flows(unsw_sample):
    return unsw_sample


def _text(result) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _detect(bundle, inputs, out, *extra):
    args = ["detect", "--model", str(bundle), "--input", str(inputs), "--out", str(out)]
    return runner.invoke(app, [*args, "--format", "unsw-nb15", *extra])


def test_alerts_carry_score_threshold_and_the_features_behind_them(bundle, flows, tmp_path):
    path, frame = flows
    out = tmp_path / "alerts.jsonl"
    result = _detect(bundle, path, out, "--org", "org3")
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line)["fedsec"] for line in out.read_text().splitlines()]
    threshold = json.loads((bundle / "bundle.json").read_text())["thresholds"]["org3"]
    assert 50 < len(alerts) < 600
    columns = set(frame.columns)
    for alert in alerts:
        assert alert["score"] > alert["threshold"] == pytest.approx(threshold, abs=1e-6)
        assert alert["threshold_source"] == "org org3" and alert["family"] == "anomaly"
        shares = [f["contribution"] for f in alert["reasons"]]
        assert len(shares) == 5 and shares == sorted(shares, reverse=True)
        assert 0 < sum(shares) <= 1.0001
        assert {f["feature"] for f in alert["reasons"]} <= columns
    attacks = sum(a["dataset_label"] != "Normal" for a in alerts)
    assert attacks / len(alerts) > 0.8
    assert "anomaly" in result.output


def test_global_threshold_and_explicit_threshold(bundle, flows, tmp_path):
    path, _ = flows
    manifest = json.loads((bundle / "bundle.json").read_text())
    summary = run_detection(bundle, [path], "unsw-nb15", tmp_path / "a.jsonl")
    first = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])["fedsec"]
    assert first["threshold_source"] == "global"
    assert first["threshold"] == pytest.approx(manifest["thresholds"]["*"], abs=1e-6)
    everything = run_detection(bundle, [path], "unsw-nb15", tmp_path / "b.jsonl", threshold=0.0)
    assert everything.alerts == everything.rows == 600 > summary.alerts


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d.pop("score"), "score: Field required"),
        (lambda d: d["score"].update(scale=[1.0]), "score scale has 1 values"),
        (lambda d: d.update(weights_sha256="0" * 64), "sha256"),
    ],
)
def test_a_corrupt_anomaly_bundle_is_refused(bundle, flows, tmp_path, damage, message):
    broken = tmp_path / "model"
    broken.mkdir()
    manifest = json.loads((bundle / "bundle.json").read_text())
    damage(manifest)
    (broken / "bundle.json").write_text(json.dumps(manifest))
    (broken / "weights.safetensors").write_bytes((bundle / "weights.safetensors").read_bytes())
    out = tmp_path / "alerts.jsonl"
    unsigned = _detect(broken, flows[0], out, "--allow-unsigned")  # integrity is still checked
    assert unsigned.exit_code == 2 and message in _text(unsigned)
    (broken / "bundle.sig").write_text((bundle / "bundle.sig").read_text())
    signed = _detect(broken, flows[0], out)
    assert signed.exit_code == 2 and "changed after it was signed" in _text(signed)
    assert not out.exists()


def test_missing_columns_and_unknown_org_fail_cleanly(bundle, flows, tmp_path):
    _, frame = flows
    thin = tmp_path / "thin.csv"
    frame.drop(columns=["sbytes", "dttl"]).to_csv(thin, index=False)
    out = tmp_path / "alerts.jsonl"
    missing = _detect(bundle, thin, out)
    assert missing.exit_code == 2 and "sbytes" in _text(missing) and "thin.csv" in _text(missing)
    unknown = _detect(bundle, flows[0], out, "--org", "org9")
    assert unknown.exit_code == 2 and "no threshold for org 'org9'" in _text(unknown)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".alerts")]


def test_unlabelled_flows_are_scored_without_claims_about_their_labels(bundle, flows, tmp_path):
    _, frame = flows
    bare = tmp_path / "bare.csv"
    frame.drop(columns=["attack_cat", "label"]).to_csv(bare, index=False)
    out = tmp_path / "alerts.jsonl"
    summary = run_detection(bundle, [bare], "unsw-nb15", out, threshold=0.0)
    assert summary.alerts == 600 and summary.truth_note == {}
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["fedsec"]["source_row"] for a in alerts] == list(range(1, 601))
    assert {a["log"]["file"]["path"] for a in alerts} == {str(bare)}
    assert not any("dataset_label" in a["fedsec"] for a in alerts)


def test_alerts_scored_in_small_chunks_are_byte_identical(bundle, flows, tmp_path):
    from fedsec.bundles.keys import user_trust
    from fedsec.detect.anomaly_alerts import anomaly_scorer
    from fedsec.detect.scoring import score_files

    path, _ = flows
    trust = user_trust([], True)
    whole, chunked = tmp_path / "whole.jsonl", tmp_path / "chunked.jsonl"

    def detect(out, **chunking):
        score = anomaly_scorer(bundle, [path], "unsw-nb15", org="org3", trust=trust)
        return score_files(score, "unsw-nb15", [path], out, **chunking)

    first = detect(whole)
    second = detect(chunked, chunk_rows=7)
    assert chunked.read_bytes() == whole.read_bytes()
    assert (second.rows, second.alerts, second.truth_note) == (
        first.rows,
        first.alerts,
        first.truth_note,
    )
    assert [json.loads(line)["row"] for line in chunked.read_text().splitlines()][-1] > 500


def test_anomaly_alerts_are_valid_ecs_with_the_threshold_and_the_features_behind_them(
    bundle, flows, tmp_path
):
    from tests.detect.ecs_schema import problems

    path, _ = flows
    out = tmp_path / "alerts.jsonl"
    result = _detect(bundle, path, out, "--org", "org3")
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    flat = tmp_path / "flat.jsonl"
    assert _detect(bundle, path, flat, "--org", "org3", "--alert-format", "fedsec").exit_code == 0
    records = [json.loads(line) for line in flat.read_text().splitlines()]
    assert len(alerts) == len(records) > 50
    for alert, record in zip(alerts, records, strict=True):
        assert problems(alert) == []
        custom = alert["fedsec"]
        assert alert["event"]["dataset"] == "fedsec.anomaly" and "threat" not in alert
        assert (custom["score"], custom["threshold"]) == (record["score"], record["threshold"])
        assert custom["decision"] == "threshold" and custom["source_row"] == record["source_row"]
        assert [r["contribution"] for r in custom["reasons"]] == [
            f["share"] for f in record["top_features"]
        ]
        # risk grows with the score's distance above the threshold, up to the medium level's 47
        assert 47 * 0.5 <= alert["event"]["risk_score"] < 47
        assert alert["organization"] == {"name": "org3"}


def test_an_anomaly_bundle_scores_without_torch(bundle, flows, tmp_path):
    """A whole ``fedsec detect`` run with an anomaly bundle, in a fresh process: no torch."""
    out = tmp_path / "alerts.jsonl"
    loaded = detect_run_loads(bundle, flows[0], "unsw-nb15", out)
    assert out.read_bytes().count(b"\n") > 5
    assert "torch" not in loaded and "numpy" in loaded


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), -1.0])
def test_a_threshold_no_score_can_meet_is_refused(threshold):
    """-1 passed (scores are never negative) and flagged every row, exit 0."""
    from fedsec.core.errors import ConfigError
    from fedsec.detect.anomaly_alerts import choose_threshold

    with pytest.raises(ConfigError, match=rf"--threshold {threshold}: an anomaly score threshold"):
        choose_threshold(None, Path("model"), None, threshold)  # type: ignore[arg-type]

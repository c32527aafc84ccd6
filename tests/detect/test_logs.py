"""Detection on log sessions with a DeepLog bundle: alerts, namespaces, refusals."""

import json

import numpy as np
import pytest
import torch

from fedsec.bundles.logs_bundle import load_log_bundle, save_log_bundle
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError, InputError
from fedsec.detect.dispatch import run_detection
from fedsec.detect.logs import choose_namespace, run_log_detection
from fedsec.features.vocabulary import RESERVED, EventVocabulary
from fedsec.models.deeplog import DeepLogDetector, DeepLogSpec, build_deeplog
from fedsec.training.params import get_params


@pytest.fixture
def bundle(tmp_path):
    vocabulary = EventVocabulary(1 << 20, "test")
    known = np.unique(vocabulary.encode([("1", "2", "3")], {}, "sys")[0])
    spec = DeepLogSpec(RESERVED + len(known), window=3, embedding=4, hidden=8, layers=1)
    params = get_params(build_deeplog(spec, torch.Generator().manual_seed(0)))
    model = DeepLogDetector(spec, vocabulary, known).set_weights(params)
    model.top_k_ = {"a": 2, "*": 3}
    return save_log_bundle(tmp_path / "model", model, {"scenario": "t"}, {"a": "sys", "b": "other"})


def test_bundle_round_trip_keeps_vocabulary_and_top_k(bundle):
    model, manifest = load_log_bundle(bundle)
    assert model.top_k_ == {"a": 2, "*": 3} and model.vocabulary.key == "test"
    assert manifest["namespaces"] == {"a": "sys", "b": "other"}


def test_one_alert_per_anomalous_session_naming_unseen_events(bundle, tmp_path):
    path = tmp_path / "sessions"
    path.write_text("s1,1 2 3\ns2,1 9 3\n")
    out = tmp_path / "alerts.jsonl"
    summary = run_log_detection(bundle, [path], "sequences", out, org="a")
    alerts = {a["session"]: a for a in map(json.loads, out.read_text().splitlines())}
    assert summary.rows == 2 and summary.alerts == len(alerts)
    unseen = [
        u for u in alerts["s2"]["unexpected"] if u["reason"] == "event never seen in training"
    ]
    assert [(u["position"], u["event"]) for u in unseen] == [(1, "9")]
    assert all(a["top_k"] == 2 and a["score"] >= 2 for a in alerts.values())


def test_a_few_events_mostly_unknown_are_scored_with_a_notice(bundle, tmp_path):
    path = tmp_path / "sessions"
    path.write_text("s1,7 8 9\n")
    out = tmp_path / "alerts.jsonl"
    summary = run_log_detection(bundle, [path], "sequences", out, org="a")
    assert out.exists() and summary.alerts == 1
    assert any("100% of the 3 events scored are unknown" in n for n in summary.notices)


def test_namespace_comes_from_the_org_or_must_be_given(bundle, tmp_path):
    _, manifest = load_log_bundle(bundle)
    assert choose_namespace(manifest, "b", None, bundle) == "other"
    assert choose_namespace(manifest, None, "mine", bundle) == "mine"
    with pytest.raises(BundleError, match="pass --org or --namespace"):
        choose_namespace(manifest, None, None, bundle)
    path = tmp_path / "s"
    path.write_text("s1,1 2\n")
    with pytest.raises(BundleError, match="no top_k for org 'zz'"):
        run_log_detection(bundle, [path], "sequences", tmp_path / "o.jsonl", org="zz")
    assert not (tmp_path / "o.jsonl").exists()


def test_a_threshold_is_refused_for_a_logs_bundle_before_anything_is_written(bundle, tmp_path):
    path = tmp_path / "sessions"
    path.write_text("s1,1 2 3\n")
    out = tmp_path / "alerts.jsonl"
    unsigned_ok = Trust(allow_unsigned=True)
    with pytest.raises(InputError, match="--threshold does not apply to a logs bundle"):
        run_detection(bundle, [path], "sequences", out, org="a", threshold=0.5, trust=unsigned_ok)
    assert not out.exists()
    run_detection(bundle, [path], "sequences", out, org="a", trust=unsigned_ok)
    assert out.exists()


@pytest.fixture
def windowed_bundle(tmp_path):
    """A mean-log-rank bundle trained on windows of 4 events every 2."""
    vocabulary = EventVocabulary(1 << 20, "test")
    known = np.unique(vocabulary.encode([("1", "2", "3")], {}, "sys")[0])
    spec = DeepLogSpec(RESERVED + len(known), window=3, embedding=4, hidden=8, layers=1)
    params = get_params(build_deeplog(spec, torch.Generator().manual_seed(0)))
    model = DeepLogDetector(spec, vocabulary, known, score="mean-log-rank")
    model.set_weights(params).thresholds_ = {"a": 0.75, "*": 0.9}
    return save_log_bundle(
        tmp_path / "model", model, {"scenario": "t"}, {"a": "sys"}, windows=(4, 2)
    )


def test_a_whole_sequence_bundle_judges_the_windows_it_was_trained_on(windowed_bundle, tmp_path):
    model, manifest = load_log_bundle(windowed_bundle)
    assert model.score == "mean-log-rank" and model.thresholds_ == {"a": 0.75, "*": 0.9}
    assert (manifest["trace_window"], manifest["trace_stride"]) == (4, 2)
    path = tmp_path / "sessions"
    path.write_text("long,1 2 3 1 9 9 9 9\nshort,1 2\n")
    out = tmp_path / "alerts.jsonl"
    summary = run_log_detection(windowed_bundle, [path], "sequences", out, org="a")
    assert summary.rows == 4  # long: windows at 0, 2, 4; short: whole
    alerts = {a["session"]: a for a in map(json.loads, out.read_text().splitlines())}
    assert "long@4" in alerts  # 9 9 9 9: never seen
    flagged = set(alerts)
    tokens = model.vocabulary.encode(
        [("1", "2", "3", "1"), ("3", "1", "9", "9"), ("9", "9", "9", "9"), ("1", "2")], {}, "sys"
    )
    scores = model.decision_function(tokens)
    names = ["long@0", "long@2", "long@4", "short@0"]
    expected = {n for n, s in zip(names, scores, strict=True) if s > 0.75}
    assert flagged == expected
    for alert in alerts.values():
        assert alert["threshold"] == 0.75 and alert["score_kind"] == "mean-log-rank"
        assert alert["score"] > 0.75 and alert["events"] <= 4


def test_a_max_surprise_bundle_flags_the_sessions_above_its_threshold(tmp_path):
    vocabulary = EventVocabulary(1 << 20, "test")
    known = np.unique(vocabulary.encode([("1", "2", "3")], {}, "sys")[0])
    spec = DeepLogSpec(RESERVED + len(known), window=3, embedding=4, hidden=8, layers=1)
    params = get_params(build_deeplog(spec, torch.Generator().manual_seed(0)))
    model = DeepLogDetector(spec, vocabulary, known, score="max-surprise").set_weights(params)
    sessions = [("1", "2", "3"), ("3", "2", "1", "1"), ("1", "9"), ("2",)]
    scores = model.decision_function(vocabulary.encode(sessions, {}, "sys"))
    threshold = float(np.median(scores[[0, 1, 3]]))  # between the known sessions' scores
    model.thresholds_ = {"a": threshold, "*": threshold}
    folder = save_log_bundle(tmp_path / "model", model, {"scenario": "t"}, {"a": "sys"})
    path = tmp_path / "sessions"
    path.write_text("".join(f"s{i},{' '.join(s)}\n" for i, s in enumerate(sessions)))
    out = tmp_path / "alerts.jsonl"
    summary = run_log_detection(folder, [path], "sequences", out, org="a")
    alerts = {a["session"]: a for a in map(json.loads, out.read_text().splitlines())}
    assert set(alerts) == {f"s{i}" for i, score in enumerate(scores) if score > threshold}
    assert "s2" in alerts and alerts["s2"]["score"] == 1.0  # "9" was never seen
    assert summary.rows == 4 and summary.alerts == len(alerts)
    for alert in alerts.values():
        assert alert["score_kind"] == "max-surprise" and alert["threshold"] == threshold
        listed = alert["unexpected"]  # every event whose surprise alone passes the threshold
        assert listed and all(u["surprise"] > threshold for u in listed)
        assert max(u["surprise"] for u in listed) == alert["score"]
    assert alerts["s2"]["unexpected"][0]["event"] == "9"
    assert alerts["s2"]["unexpected"][0]["reason"] == "event never seen in training"


@pytest.mark.parametrize("score", ["max-rank", "max-surprise"])
def test_a_bundle_of_per_site_rules_asks_for_the_org_instead_of_failing(tmp_path, score):
    """A deployment's run directory holds each site's own top_k or threshold, no pooled one:
    scoring without --org named no rule and ended in a traceback."""
    from typer.testing import CliRunner

    from fedsec.cli import app

    vocabulary = EventVocabulary(1 << 20, "test")
    known = np.unique(vocabulary.encode([("1", "2", "3")], {}, "sys")[0])
    spec = DeepLogSpec(RESERVED + len(known), window=3, embedding=4, hidden=8, layers=1)
    params = get_params(build_deeplog(spec, torch.Generator().manual_seed(0)))
    model = DeepLogDetector(spec, vocabulary, known, score=score).set_weights(params)
    if score == "max-rank":
        model.top_k_ = {"site-a": 2, "site-b": 3}
    else:
        model.thresholds_ = {"site-a": 0.5, "site-b": 0.6}
    folder = save_log_bundle(tmp_path / "model", model, {"scenario": "t"}, {"site-a": "sys"})
    sessions = tmp_path / "sessions"
    sessions.write_text("s1,1 2 3\n")
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(folder), "--input", str(sessions), "--format", "sequences"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    text = " ".join(result.output.split())
    assert "no pooled" in text and "pass --org, one of ['site-a', 'site-b']" in text
    assert "Traceback" not in text
    assert CliRunner().invoke(app, [*args, "--out", str(out), "--org", "site-b"]).exit_code == 0


def test_a_whole_sequence_bundle_without_thresholds_is_refused(windowed_bundle):
    from fedsec.bundles.manifest import DeepLogManifest

    _, manifest = load_log_bundle(windowed_bundle)
    with pytest.raises(ValueError, match="'mean-log-rank' bundle needs thresholds"):
        DeepLogManifest.model_validate({**manifest, "thresholds": {}})


def test_log_alerts_are_valid_ecs_naming_the_session_and_its_unexpected_events(bundle, tmp_path):
    from fedsec.detect.dispatch import run_detection
    from tests.detect.ecs_schema import problems

    path = tmp_path / "sessions"
    path.write_text("s1,1 2 3\ns2,1 9 3\ns3,9 9\n")
    out = tmp_path / "alerts.jsonl"
    run_detection(bundle, [path], "sequences", out, org="a")
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert alerts and all(problems(a) == [] for a in alerts)
    by_session = {a["fedsec"]["session"]: a for a in alerts}
    assert "s2" in by_session and "threat" not in by_session["s2"]
    s2 = by_session["s2"]
    assert s2["event"]["dataset"] == "fedsec.logs" and s2["event"]["category"] == [
        "intrusion_detection"
    ]
    assert s2["fedsec"]["decision"] == "top_k" and s2["fedsec"]["top_k"] == 2
    unseen = [r for r in s2["fedsec"]["reasons"] if r["reason"] == "event never seen in training"]
    assert [(r["position"], r["event"]) for r in unseen] == [(1, "9")]
    assert s2["log"]["file"]["path"] == str(path)
    assert len({a["event"]["id"] for a in alerts}) == len(alerts)


def test_a_rule_at_the_highest_score_is_named_when_it_flags_nothing(tmp_path):
    """A site with too few normal validation sessions gets threshold 1 (logs-cross-system's
    Hadoop and BGL): its rule flags no session, not even one of never-seen events. Detection
    said only "0 alerts"; it now says why, and says nothing of the kind for a usable rule."""
    from typer.testing import CliRunner

    from fedsec.cli import app

    vocabulary = EventVocabulary(1 << 20, "test")
    known = np.unique(vocabulary.encode([("1", "2", "3")], {}, "sys")[0])
    spec = DeepLogSpec(RESERVED + len(known), window=3, embedding=4, hidden=8, layers=1)
    params = get_params(build_deeplog(spec, torch.Generator().manual_seed(0)))
    model = DeepLogDetector(spec, vocabulary, known, score="max-surprise").set_weights(params)
    model.thresholds_ = {"a": 1.0, "*": 0.5}
    folder = save_log_bundle(tmp_path / "model", model, {"scenario": "t"}, {"a": "sys"})
    sessions = tmp_path / "sessions"
    sessions.write_text("s1,1 2 3\ns2,1 9 9\n")  # s2: never-seen events, surprise 1
    args = ["detect", "--model", str(folder), "--input", str(sessions), "--format", "sequences"]
    capped = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a.jsonl"), "--org", "a"])
    assert capped.exit_code == 0, capped.output
    assert (tmp_path / "a.jsonl").read_text() == ""
    text = " ".join(capped.output.split())
    assert "0 alerts" in text and "the threshold for a is 1, the highest score" in text
    assert "this rule flags no session" in text
    pooled = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "b.jsonl"), "--namespace", "sys"]
    )
    assert pooled.exit_code == 0, pooled.output
    assert "s2" in (tmp_path / "b.jsonl").read_text()
    assert "flags no session" not in pooled.output

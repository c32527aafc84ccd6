"""End to end on a real slice of HDFS: three arms, metrics layout, federated >= local-only,
the count baseline's federated fit equals the pooled one, determinism."""

import pytest

from fedsec.evaluation.logs import run_logs_experiment
from fedsec.scenarios.config import load_scenario

SLICE = [
    "logs.sources.0.max_sessions=2000",
    "logs.sources.1.max_sessions=2000",
    "logs.sources.2.max_sessions=3000",
    "evaluation.curve_points=2",
]
SMALL = [*SLICE, "rounds=12", "training.local_steps=5"]


@pytest.fixture(scope="module")
def experiment(data_dir):
    return run_logs_experiment(load_scenario("hdfs-5org", SMALL), data_dir)


def test_metrics_layout_per_arm_and_org(experiment):
    metrics = experiment.metrics
    assert metrics["task"] == "logs"
    assert list(metrics["arms"]) == ["centralized", "local", "federated"]
    for result in metrics["arms"].values():
        overall = result["overall"]
        for key in ("f1", "precision", "recall", "fpr"):
            assert 0.0 <= overall[key] <= 1.0
        assert set(result["per_org"]) == {f"org{i}" for i in range(1, 6)}
        assert overall["sessions"] == sum(m["sessions"] for m in result["per_org"].values())
        assert len(result["curve"]) == 2
    assert metrics["federation"]["vocabulary"]["key"] == "(not reported)"


def test_federated_is_at_least_as_good_as_local_only(experiment):
    arms = experiment.metrics["arms"]
    fed, local = arms["federated"]["overall"], arms["local"]["overall"]
    assert fed["f1"] >= local["f1"]
    assert fed["f1"] >= 0.8
    assert arms["centralized"]["overall"]["f1"] >= 0.8


def test_false_positive_rate_follows_the_validation_target(experiment):
    for arm in experiment.metrics["arms"].values():
        assert arm["overall"]["fpr"] <= 0.05
        for org in arm["per_org"].values():
            assert org["val_fpr"] <= 0.01 or org["top_k"] == org["known_events"] + 1


def test_count_baseline_federated_fit_is_the_pooled_fit(experiment):
    baseline = experiment.metrics["baseline"]["arms"]
    assert baseline["federated"]["overall"] == baseline["centralized"]["overall"]
    assert set(baseline["local"]["per_org"]) == set(experiment.metrics["arms"]["local"]["per_org"])


def test_same_seed_gives_identical_metrics(data_dir):
    tiny = [*SLICE, "rounds=2", "training.local_steps=3", 'evaluation.arms=["local", "federated"]']
    first = run_logs_experiment(load_scenario("hdfs-5org", tiny), data_dir).metrics
    second = run_logs_experiment(load_scenario("hdfs-5org", tiny), data_dir).metrics
    assert first == second

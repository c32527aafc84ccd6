"""Every epsilon report says what it covers: the neighbouring relation, and the one list of
what the run releases outside epsilon (task by task), in metrics.json and report.md."""

import pytest

from fedsec.experiments.driver import run_experiment
from fedsec.reporting.report import privacy_lines
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.privacy import not_covered

TINY_ANOMALY = [
    "privacy.sample_dp.epsilon=1",
    "anomaly.models=['svdd','ae']",
    "rounds=2",
    "data.max_rows=4000",
    "evaluation.arms=['federated']",
]


@pytest.fixture(scope="module")
def anomaly(data_dir):
    return run_experiment(load_scenario("unsw-5org-anomaly", TINY_ANOMALY), data_dir)


def test_the_detectors_exact_statistics_are_listed_outside_epsilon(anomaly):
    """The SVDD centre and the autoencoder's error scale are computed from training rows
    without noise and travel in the released model: the report must not let ε cover them."""
    listed = anomaly.metrics["privacy"]["not_covered_by_epsilon"]
    text = " | ".join(listed)
    for what in ("Deep SVDD centre", "error scale", "thresholds", "row count"):
        assert what in text
    lines = privacy_lines(anomaly.metrics["privacy"])
    outside = [line for line in lines if line.startswith("- Not covered by any ε")]
    assert len(outside) == 1 and "Deep SVDD centre" in outside[0]


def test_each_epsilon_states_its_neighbours_and_the_replace_one_figure(anomaly):
    sample = anomaly.metrics["privacy"]["sample_dp"]
    assert sample["neighbouring_relation"].startswith("add/remove one record")
    for arm in sample["per_arm"].values():
        for spent in arm.values():
            assert spent["epsilon_rounded_up"]
            assert spent["epsilon_replace_one"] > spent["epsilon"]
    lines = privacy_lines(anomaly.metrics["privacy"])
    assert any(line.startswith("  - Neighbouring datasets: add/remove") for line in lines)
    assert any("for replace-one neighbours" in line for line in lines)


def test_what_each_task_leaves_outside_epsilon():
    plain = not_covered(load_scenario("unsw-5org-disjoint", ["privacy.sample_dp.epsilon=1"]))
    assert any("class weights" in item for item in plain)
    assert not any("SVDD" in item or "gate" in item for item in plain)
    charged = not_covered(
        load_scenario(
            "unsw-5org-disjoint",
            [
                "privacy.sample_dp.epsilon=1",
                "privacy.sample_dp.stats_epsilon_share=0.2",
                "gate.enabled=true",
            ],
        )
    )
    assert not any("preprocessing statistics" in item for item in charged)
    assert any("gate's verdicts" in item for item in charged)
    logs = not_covered(load_scenario("hdfs-5org"))
    assert any("event tokens" in item for item in logs)
    ae_only = not_covered(load_scenario("unsw-5org-anomaly", ["anomaly.models=['ae']"]))
    assert any("error scale" in item for item in ae_only)
    assert not any("SVDD" in item for item in ae_only)

"""Acceptance on a small slice: the simulator's campaigns, detected by a federated model in each
organization's test week, become few incidents each, matching the ground truth."""

from __future__ import annotations

import pytest

from fedsec.forensics.campaigns import detect_window, score_window, window_files
from tests.forensics.consortium import shared_small_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return shared_small_run(tmp_path_factory)


@pytest.mark.slow
def test_every_campaign_is_at_most_three_incidents_matching_the_truth(run, tmp_path) -> None:
    scores = score_window(detect_window(run, tmp_path))
    assert scores["truths"] == 7  # (org, campaign) pairs in the test weeks of the consortium
    assert scores["precision"] >= 0.9 and scores["recall"] >= 0.9, scores
    assert scores["max_per_truth"] <= 3, scores["incidents_per_truth"]
    assert scores["alerts"] > 10 * scores["incidents"]  # thousands of alerts → a few incidents


def test_the_test_window_is_the_days_after_training(run) -> None:
    files = window_files(run / "data")
    assert sorted(files) == ["cloud", "grid", "iot", "office", "plant"]
    assert [p.name for p in files["grid"]][:2] == ["flows-2024-03-11.csv", "flows-2024-03-12.csv"]
    assert len(files["grid"]) == 7 and all(p.is_file() for p in files["grid"])

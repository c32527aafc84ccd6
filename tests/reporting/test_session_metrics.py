"""Threshold-free metrics of logs runs: ROC-AUC / PR-AUC from session scores, recall per kind of
anomaly, pooled over organizations from their counts."""

import numpy as np
import pytest

from fedsec.reporting.session_metrics import label_recall, pooled_label_recall, ranking


def test_ranking_reports_roc_and_pr_auc_with_unseen_events_ranked_first():
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, np.inf])
    assert ranking(labels, scores) == {"roc_auc": 1.0, "pr_auc": 1.0}
    # one anomaly (0.2) below two normal sessions: 4 of 6 pairs ordered
    mixed = ranking(labels, np.array([0.1, 0.4, 0.35, 0.2, np.inf]))
    assert mixed["roc_auc"] == pytest.approx(4 / 6, abs=1e-6)
    assert mixed["pr_auc"] == pytest.approx((1 + 2 / 4) / 2, abs=1e-6)


def test_ranking_is_undefined_without_both_kinds_of_session():
    assert ranking(np.array([0, 0]), np.array([0.1, 0.2])) == {"roc_auc": None, "pr_auc": None}


def test_recall_per_kind_of_anomaly_and_pooled_over_orgs():
    origins = np.array(["normal", "disk_full", "disk_full", "machine_down", "normal"], object)
    labels = np.array([0, 1, 1, 1, 0])
    flagged = np.array([True, True, False, True, False])
    first = label_recall(origins, labels, flagged)
    assert first == {
        "disk_full": {"abnormal": 2, "detected": 1, "recall": 0.5},
        "machine_down": {"abnormal": 1, "detected": 1, "recall": 1.0},
    }
    second = label_recall(np.array(["disk_full"], object), np.array([1]), np.array([True]))
    assert pooled_label_recall([first, second])["disk_full"] == {
        "abnormal": 3,
        "detected": 2,
        "recall": pytest.approx(2 / 3, abs=1e-6),
    }

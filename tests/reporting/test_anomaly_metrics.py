"""ROC-AUC, PR-AUC and detection at a threshold, against values computed by hand."""

import numpy as np
import pytest

from fedsec.reporting.metrics import detection_metrics, score_metrics

TRUE = np.array(["benign", "benign", "dos", "benign", "dos", "recon"])
SCORES = np.array([0.1, 0.4, 0.35, 0.2, 0.8, 0.9])


def test_roc_and_pr_auc_by_hand():
    m = score_metrics(TRUE, SCORES)
    # attack/benign pairs ranked right: 0.35 beats 0.1 and 0.2 (not 0.4); 0.8 and 0.9 beat all
    assert m["roc_auc"] == pytest.approx(8 / 9, abs=1e-6)
    # ranked: 0.9 A, 0.8 A, 0.4 B, 0.35 A -> precision at each attack 1, 1, 3/4
    assert m["pr_auc"] == pytest.approx((1 + 1 + 0.75) / 3, abs=1e-6)


def test_auc_is_undefined_with_one_class():
    assert score_metrics(TRUE[:2], SCORES[:2]) == {"roc_auc": None, "pr_auc": None}
    assert score_metrics(TRUE[4:], SCORES[4:])["roc_auc"] is None


@pytest.mark.parametrize(
    "threshold, detection, fpr, per_family",
    [
        (0.3, 1.0, 1 / 3, {"dos": 1.0, "recon": 1.0}),
        (0.5, 2 / 3, 0.0, {"dos": 0.5, "recon": 1.0}),
        (0.95, 0.0, 0.0, {"dos": 0.0, "recon": 0.0}),
    ],
)
def test_detection_at_a_threshold(threshold, detection, fpr, per_family):
    m = detection_metrics(TRUE, np.greater(SCORES, threshold))
    assert m["detection_rate"] == pytest.approx(detection, abs=1e-6)
    assert m["benign_fpr"] == pytest.approx(fpr, abs=1e-6)
    assert m["per_family_detection"] == pytest.approx(per_family, abs=1e-6)


def test_detection_without_attacks_or_benign_rows():
    only_benign = detection_metrics(TRUE[:2], np.array([True, False]))
    assert only_benign["detection_rate"] is None and only_benign["benign_fpr"] == 0.5
    assert detection_metrics(TRUE[4:], np.array([True, True]))["benign_fpr"] is None

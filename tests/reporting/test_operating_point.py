"""Operating-point figures on a real UNSW-NB15 slice: benign FPR split by the rows' origin,
unseen-family ROC-AUC, and unseen recall at a threshold matched on the benign rows themselves.
The score is a real column (source TTL), the origin the protocol (tcp = organization 0)."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fedsec.reporting.operating_point import (
    matched_point,
    operating_point,
    origin_fpr,
    pooled_operating_point,
    row_kinds,
)
from tests.conftest import unsw_training_frame

UNSEEN = {"generic", "reconnaissance"}


@pytest.fixture(scope="module")
def rows():
    frame = unsw_training_frame().sample(5000, random_state=3)
    true = np.where(frame["label"] == 0, "benign", frame["attack_cat"].str.lower()).astype(object)
    owner = np.where(frame["proto"] == "tcp", 0, 1)
    scores = frame["sttl"].to_numpy(np.float64) + frame["sbytes"].to_numpy(np.float64) * 1e-9
    return true, owner, scores


def test_benign_fpr_is_split_by_origin(rows):
    true, owner, scores = rows
    flagged = scores > 30
    got = origin_fpr(true, flagged, owner, 0)
    own = (true == "benign") & (owner == 0)
    foreign = (true == "benign") & (owner == 1)
    assert got["own_benign_rows"] == own.sum() > 100
    assert got["foreign_benign_rows"] == foreign.sum() > 100
    assert got["own_benign_fpr"] == pytest.approx(flagged[own].mean(), abs=1e-6)
    assert got["foreign_benign_fpr"] == pytest.approx(flagged[foreign].mean(), abs=1e-6)
    assert got["own_benign_fpr"] != got["foreign_benign_fpr"]
    swapped = origin_fpr(true, flagged, owner, 1)
    assert swapped["own_benign_fpr"] == got["foreign_benign_fpr"]


@pytest.mark.parametrize("target", [0.01, 0.05, 0.2])
def test_matched_threshold_flags_at_most_the_target_share_of_benign_rows(rows, target):
    true, _, scores = rows
    got = matched_point(true, scores, UNSEEN, target)
    benign = scores[true == "benign"]
    assert got["matched_benign_fpr"] <= target
    assert np.mean(benign > got["matched_threshold"]) == pytest.approx(
        got["matched_benign_fpr"], abs=1e-6
    )
    # the smallest such threshold: the next benign score below it would exceed the target
    lower = benign[benign < got["matched_threshold"]]
    if len(lower):
        assert np.mean(benign > lower.max()) > target
    unseen = np.isin(true, sorted(UNSEEN))
    recall = np.mean(scores[unseen] > got["matched_threshold"])
    assert got["matched_unseen_recall"] == pytest.approx(recall, abs=1e-6)


def test_unseen_auc_is_unseen_attacks_against_all_benign_rows(rows):
    true, owner, scores = rows
    got = operating_point(true, scores, scores > 30, owner, 0, UNSEEN, 0.01)
    keep = np.isin(true, [*UNSEEN, "benign"])
    expected = roc_auc_score(np.isin(true[keep], sorted(UNSEEN)), scores[keep])
    assert got["unseen_roc_auc"] == pytest.approx(expected, abs=1e-6)
    # exploits rows are neither unseen nor benign: they do not enter the AUC
    assert got["unseen_roc_auc"] != pytest.approx(roc_auc_score(true != "benign", scores), abs=1e-4)
    assert (
        operating_point(true, scores, scores > 30, owner, 0, set(), 0.01)["unseen_roc_auc"] is None
    )


def test_pooled_figures_weight_each_org_by_its_rows(rows):
    true, owner, scores = rows
    halves = [np.arange(len(true)) < 2000, np.arange(len(true)) >= 2000]
    parts = []
    for index, half in enumerate(halves):
        t, s, o = true[half], scores[half], owner[half]
        point = operating_point(t, s, s > 30, o, index, UNSEEN, 0.05)
        parts.append((point, row_kinds(t, UNSEEN), s))
    pooled = pooled_operating_point(parts)
    own = np.concatenate([(true[h] == "benign") & (owner[h] == i) for i, h in enumerate(halves)])
    flagged = scores > 30
    assert pooled["own_benign_fpr"] == pytest.approx(flagged[own].mean(), abs=1e-6)
    keep = np.isin(true, [*UNSEEN, "benign"])
    auc = roc_auc_score(np.isin(true[keep], sorted(UNSEEN)), scores[keep])
    assert pooled["unseen_roc_auc"] == pytest.approx(auc, abs=1e-6)
    assert pooled["matched_benign_fpr"] <= 0.05

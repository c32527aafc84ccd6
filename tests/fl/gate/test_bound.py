import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.fl.gate.bound import metric_value, paired_fall

LABELS = [BENIGN, "dos", "scan", "worm"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS)), min_size=1))
def test_the_metrics_on_all_rows_are_scikit_learns(pairs):
    truth = np.asarray([t for t, _ in pairs], dtype=object)
    predicted = np.asarray([p for _, p in pairs], dtype=object)
    expected = f1_score(
        truth, predicted, labels=family_order(truth), average="macro", zero_division=0
    )
    assert abs(metric_value("macro_f1", truth, predicted) - expected) < 1e-12
    attack = truth != BENIGN
    rate = metric_value("detection_rate", truth, predicted)
    if attack.any():
        assert abs(rate - (predicted[attack] != BENIGN).mean()) < 1e-12
    else:
        assert rate is None


def rows(attacks: int, benign: int) -> np.ndarray:
    return np.asarray(["dos"] * attacks + [BENIGN] * benign, dtype=object)


def caught(truth: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Predictions catching the attack rows where ``hits`` is true (benign rows right)."""
    predicted = truth.copy()
    attack = np.flatnonzero(truth != BENIGN)
    predicted[attack[~hits]] = BENIGN
    return predicted


def test_a_fall_within_the_noise_of_few_rows_is_not_sure_but_the_same_fall_on_many_is():
    """0.80 -> 0.70 detection on 10 attack rows is noise; on 2000 it is a sure fall."""
    for attacks, sure in ((10, False), (2000, True)):
        truth = rows(attacks, 50)
        n = np.arange(attacks)
        reference = caught(truth, n < 0.8 * attacks)
        candidate = caught(truth, (n >= 0.1 * attacks) & (n < 0.8 * attacks))
        fall = paired_fall(
            "detection_rate", truth, reference, candidate, 0.99, 2000, np.random.default_rng(0)
        )
        assert abs(fall.point - 0.1) < 1e-9
        assert (fall.lower > 0.05) is sure, (attacks, fall)


def test_pairing_cancels_the_rows_both_models_agree_on():
    """Two models that differ on 2 of 400 attack rows: the fall is bounded near 0 although each
    model's own rate carries the noise of 400 rows (about +-2.5 points)."""
    truth = rows(400, 100)
    n = np.arange(400)
    reference = caught(truth, n < 300)
    candidate = caught(truth, n < 298)
    fall = paired_fall(
        "detection_rate", truth, reference, candidate, 0.99, 2000, np.random.default_rng(1)
    )
    assert abs(fall.point - 0.005) < 1e-9
    assert 0 <= fall.lower <= 0.005


def test_the_bound_repeats_for_the_same_seed_and_refuses_mismatched_rows():
    truth = rows(50, 50)
    reference, candidate = truth.copy(), caught(truth, np.arange(50) < 40)
    first, second = (
        paired_fall("macro_f1", truth, reference, candidate, 0.95, 500, np.random.default_rng(7))
        for _ in range(2)
    )
    assert first == second
    with pytest.raises(ValueError, match="differ in length"):
        paired_fall(
            "macro_f1", truth[:-1], reference, candidate, 0.95, 500, np.random.default_rng()
        )

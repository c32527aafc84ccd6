"""LiRA and canary statistics on synthetic confidences whose membership signal is known."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from fedsec.fl.privacy import audit


def _game(shift: float, models: int = 9, records: int = 400, seed: int = 0):
    """phi = a per-record difficulty + noise, plus ``shift`` where the model trained on it."""
    rng = np.random.default_rng(seed)
    inside = rng.random((models, records)) < 0.5
    difficulty = rng.normal(0, 3, records)  # records differ far more than membership moves them
    phi = difficulty + rng.normal(0, 0.5, (models, records)) + shift * inside
    return phi, inside


def _pooled(scores, inside):
    return audit.attack_metrics(scores[inside], scores[~inside])


def test_logit_confidence_is_log_odds_of_the_true_label():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0], [500.0, -500.0, 0.0]])
    labels = np.array([0, 2, 1])
    proba = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    expected = np.log(proba[[0, 1], labels[:2]]) - np.log1p(-proba[[0, 1], labels[:2]])
    phi = audit.logit_confidence(logits, labels)
    assert phi[:2] == pytest.approx(expected)
    assert phi[2] == audit.PHI_FLOOR  # p = e^-1000: clipped, not -inf or NaN


def test_a_label_the_model_lacks_gets_the_floor():
    phi = audit.logit_confidence(np.zeros((2, 2)), np.array([-1, 0]))
    assert phi.tolist() == [audit.PHI_FLOOR, 0.0]


def test_lira_finds_a_membership_shift_that_a_global_threshold_misses():
    phi, inside = _game(shift=1.0)
    scores = audit.lira_scores(phi, inside)
    online, offline = _pooled(scores["online"], inside), _pooled(scores["offline"], inside)
    threshold = _pooled(phi, inside)
    assert online["auc"] > 0.8
    assert offline["auc"] > 0.75
    assert threshold["auc"] < 0.65  # hidden under the records' own difficulty
    assert online["tpr_at_fpr_0.01"] > 10 * 0.01
    assert online["epsilon_lower_bound"] > 1.0


@pytest.mark.parametrize("models", [5, 9])
def test_lira_is_at_chance_without_a_membership_signal(models):
    phi, inside = _game(shift=0.0, models=models, records=2000)
    for scores in audit.lira_scores(phi, inside).values():
        result = _pooled(scores, inside)
        assert abs(result["auc"] - 0.5) < 0.02
        assert result["epsilon_lower_bound"] == 0.0


def test_each_target_is_scored_by_the_other_models_only():
    phi, inside = _game(shift=1.0, models=5)
    changed = phi.copy()
    changed[0] += 100.0  # model 0 alone: cannot move its own record statistics
    before = audit.lira_scores(phi, inside)["online"]
    after = audit.lira_scores(changed, inside)["online"]
    shadows = inside[1:]
    evidence = shadows.any(axis=0) & (~shadows).any(axis=0)  # both kinds of shadow
    assert np.array_equal(before[0] != after[0], evidence)
    assert evidence.mean() > 0.8
    assert not np.allclose(before[1:], after[1:])  # model 0 is a shadow of the others


def test_epsilon_lower_bound_is_bounded_by_what_the_samples_can_prove():
    # a perfect attack on n members and n non-members proves at most about log(n)
    fpr, tpr = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0])
    small = audit.epsilon_lower_bound(fpr, tpr, 100, 100)
    large = audit.epsilon_lower_bound(fpr, tpr, 10_000, 10_000)
    assert 0 < small < math.log(100) < large < math.log(10_000)


def test_exposure_is_maximal_when_inserted_canaries_outrank_the_rest():
    inside = np.array([[True, True, False, False, False, False, False]])
    top = audit.exposure(np.array([[9.0, 8.0, 1, 2, 3, 4, 5]]), inside)
    bottom = audit.exposure(np.array([[0.0, -1.0, 1, 2, 3, 4, 5]]), inside)
    assert top["mean_exposure_bits"] == pytest.approx(math.log2(6), abs=1e-4)
    assert top["max_possible_bits"] == pytest.approx(math.log2(6), abs=1e-4)
    assert bottom["mean_exposure_bits"] == pytest.approx(0.0)


def test_exposure_of_random_scores_is_near_chance():
    rng = np.random.default_rng(1)
    inside = rng.random((200, 40)) < 0.5
    result = audit.exposure(rng.normal(size=(200, 40)), inside)
    assert result["mean_exposure_bits"] == pytest.approx(result["chance_exposure_bits"], abs=0.1)
    assert audit.chance_exposure(1) == pytest.approx(0.5)  # rank 1 or 2: log2(2/1), log2(2/2)

"""FLAME on small arrays: four honest updates near one direction and one dishonest update."""

import numpy as np

from fedsec.fl.robustness import Flame, RobustnessConfig, build_rule
from fedsec.fl.robustness.flame import cosine_distances, majority_cluster
from tests.fl.robustness.test_rules import DIRECTION, SITES, equal, honest, with_outlier


def test_a_sign_flipped_update_falls_outside_the_majority_cluster_and_is_left_out():
    deltas = with_outlier(-DIRECTION)
    assert majority_cluster(deltas).tolist() == [True, True, True, True, False]
    decision = Flame(noise=0.0).combine(deltas, equal(), np.zeros(4), SITES)
    assert decision.share[4] == 0
    norms = np.linalg.norm(deltas, axis=1)
    clip = np.minimum(1, np.median(norms) / norms[:4])  # all five norms set the bound
    np.testing.assert_allclose(decision.delta, (clip @ honest()) / 4, atol=1e-12)


def test_a_boosted_update_in_the_majority_direction_is_kept_but_clipped_to_the_median_norm():
    deltas = with_outlier(50 * DIRECTION)
    kept = majority_cluster(deltas)
    assert kept[4]  # its direction is the majority's: only its size gives it away
    decision = Flame(noise=0.0).combine(deltas, equal(), np.zeros(4), SITES)
    norms = np.linalg.norm(deltas, axis=1)
    effective = kept * np.minimum(1, np.median(norms) / norms) / kept.sum()
    np.testing.assert_allclose(decision.delta, effective @ deltas, atol=1e-12)
    assert np.linalg.norm(effective[4] * deltas[4]) <= np.median(norms) / kept.sum() + 1e-12


def test_without_a_majority_cluster_every_update_is_kept():
    orthogonal = np.eye(4)[[0, 1, 2, 3, 0]] * np.array([[1], [1], [1], [1], [-1]])
    assert majority_cluster(orthogonal).all()
    assert majority_cluster(orthogonal[:2]).all()  # under 3 updates: nothing to cluster


def test_the_noise_is_scaled_by_the_median_norm_and_reproducible_from_the_seed():
    deltas = with_outlier(-DIRECTION)
    exact = Flame(noise=0.0).combine(deltas, equal(), np.zeros(4), SITES).delta
    first = Flame(noise=0.1, seed=3).combine(deltas, equal(), np.zeros(4), SITES).delta
    again = Flame(noise=0.1, seed=3).combine(deltas, equal(), np.zeros(4), SITES).delta
    other = Flame(noise=0.1, seed=4).combine(deltas, equal(), np.zeros(4), SITES).delta
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    big = Flame(noise=0.1, seed=3).combine(10 * deltas, equal(), np.zeros(4), SITES).delta
    np.testing.assert_allclose(big - 10 * exact, 10 * (first - exact), atol=1e-9)


def test_cosine_distances_are_zero_on_the_diagonal_and_two_for_opposite_updates():
    distance = cosine_distances(np.array([[1.0, 0.0], [-2.0, 0.0], [0.0, 3.0]]))
    np.testing.assert_allclose(distance, [[0, 2, 1], [2, 0, 1], [1, 1, 0]], atol=1e-12)


def test_the_config_builds_flame_with_its_noise_and_the_runs_seed():
    rule = build_rule(RobustnessConfig(rule="flame", noise=0.02), seed=7)
    assert isinstance(rule, Flame) and rule.noise == 0.02
    deltas = with_outlier(-DIRECTION)
    same = Flame(noise=0.02, seed=7).combine(deltas, equal(), np.zeros(4), SITES).delta
    np.testing.assert_array_equal(rule.combine(deltas, equal(), np.zeros(4), SITES).delta, same)

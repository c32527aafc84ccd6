"""Each robust rule on small arrays with a known outlier: four honest updates near one
direction, one dishonest update (sign-flipped, boosted or noise)."""

import numpy as np
import pytest

from fedsec.fl.robustness import (
    CoordinateMedian,
    CosineFilter,
    FLTrust,
    Mean,
    MultiKrum,
    NormBound,
    RobustnessConfig,
    TrimmedMean,
    build_rule,
)
from fedsec.fl.robustness.fltrust import trust_scores
from fedsec.fl.robustness.krum import byzantine_count
from fedsec.fl.robustness.trimmed_mean import trim_count

DIRECTION = np.array([1.0, -2.0, 0.5, 3.0])
SITES = [f"org{i}" for i in range(5)]


def honest(n: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return DIRECTION + rng.normal(0, 0.1, size=(n, len(DIRECTION)))


def with_outlier(outlier: np.ndarray) -> np.ndarray:
    return np.vstack([honest(), outlier])


def equal(n: int = 5) -> np.ndarray:
    return np.ones(n)


def honest_mean() -> np.ndarray:
    return honest().mean(axis=0)


@pytest.mark.parametrize(
    "rule", [CoordinateMedian(), TrimmedMean(), MultiKrum()], ids=lambda r: r.name
)
@pytest.mark.parametrize("outlier_scale", [-1.0, -10.0, 50.0])
def test_majority_rules_ignore_a_flipped_or_boosted_update(rule, outlier_scale):
    deltas = with_outlier(outlier_scale * DIRECTION)
    decision = rule.combine(deltas, equal(), np.zeros(4), SITES)
    # within the honest values' spread, nowhere near the plain mean
    assert np.abs(decision.delta - honest_mean()).max() < 0.3
    plain = Mean().combine(deltas, equal(), np.zeros(4), SITES).delta
    assert np.abs(plain - honest_mean()).max() > 0.5
    assert decision.share[4] < 0.1 * decision.share[:4].min() + 1e-12


def test_multi_krum_excludes_the_outlier_and_averages_the_rest_by_weight():
    deltas = with_outlier(-DIRECTION)
    weights = np.array([1.0, 2.0, 1.0, 1.0, 5.0])
    decision = MultiKrum(max_byzantine=1).combine(deltas, weights, np.zeros(4), SITES)
    assert decision.share[4] == 0.0
    expected = (weights[:4] / weights[:4].sum()) @ deltas[:4]
    np.testing.assert_allclose(decision.delta, expected)


def test_krum_and_trimming_sizes():
    assert [byzantine_count(n, None) for n in (2, 3, 5, 10)] == [0, 1, 1, 2]
    assert byzantine_count(5, 4) == 2  # never a dishonest majority
    assert [trim_count(n, None) for n in (3, 5, 10)] == [1, 1, 2]
    assert trim_count(5, 3) == 2


def test_median_share_counts_the_coordinates_each_site_supplies():
    deltas = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 4.0]])
    decision = CoordinateMedian().combine(deltas, np.ones(3), np.zeros(2), SITES[:3])
    np.testing.assert_allclose(decision.delta, [2.0, 5.0])
    np.testing.assert_allclose(decision.share, [0.5, 0.5, 0.0])


def test_norm_bound_clips_a_boosted_update_to_the_median_norm():
    deltas = with_outlier(50.0 * DIRECTION)
    decision = NormBound().combine(deltas, equal(), np.zeros(4), SITES)
    norms = np.linalg.norm(deltas, axis=1)
    scale = np.minimum(1.0, np.median(norms) / norms)  # everything above the median norm
    np.testing.assert_allclose(decision.delta, (scale[:, None] * deltas).mean(axis=0))
    assert np.linalg.norm(scale[4] * deltas[4]) == pytest.approx(np.median(norms))
    np.testing.assert_allclose(decision.share, scale / scale.sum())  # clipped: down-weighted


def test_norm_bound_does_not_stop_an_unboosted_sign_flip():
    """What norm bounding cannot do (docs/robustness.md): same norm, opposite direction."""
    deltas = with_outlier(-DIRECTION)
    decision = NormBound().combine(deltas, equal(), np.zeros(4), SITES)
    assert np.abs(decision.delta - honest_mean()).max() > 0.5


def test_fltrust_gives_no_trust_to_a_reversed_update_and_rescales_the_rest():
    deltas = with_outlier(-3.0 * DIRECTION)
    rule = FLTrust(lambda global_flat: 0.5 * DIRECTION)
    decision = rule.combine(deltas, equal(), np.zeros(4), SITES)
    assert decision.share[4] == 0.0
    assert np.linalg.norm(decision.delta) <= np.linalg.norm(0.5 * DIRECTION) + 1e-9
    cosine = decision.delta @ DIRECTION / np.linalg.norm(decision.delta) / np.linalg.norm(DIRECTION)
    assert cosine > 0.99


def test_fltrust_with_no_trusted_update_does_not_move():
    deltas = -honest()
    decision = FLTrust(lambda g: DIRECTION).combine(deltas, np.ones(4), np.zeros(4), SITES[:4])
    assert not decision.delta.any() and not decision.share.any()
    assert trust_scores(deltas, DIRECTION).max() == 0.0


def test_build_rule_names_every_rule_and_fltrust_needs_root_data():
    for name in ("mean", "norm_bound", "median", "trimmed_mean", "multi_krum", "cosine_filter"):
        assert build_rule(RobustnessConfig(rule=name)).name == name
    with pytest.raises(ValueError, match="root data"):
        build_rule(RobustnessConfig(rule="fltrust"))
    assert build_rule(RobustnessConfig(rule="fltrust"), lambda g: g).name == "fltrust"


@pytest.mark.parametrize("outlier_scale", [-1.0, -10.0])
def test_cosine_filter_leaves_out_an_update_pointing_against_the_majority(outlier_scale):
    deltas = with_outlier(outlier_scale * DIRECTION)
    decision = CosineFilter().combine(deltas, equal(), np.zeros(4), SITES)
    assert decision.share[4] == 0.0
    assert np.abs(decision.delta - honest_mean()).max() < 0.3


def test_cosine_filter_bounds_a_boosted_update_to_the_median_norm():
    deltas = with_outlier(50.0 * DIRECTION)
    decision = CosineFilter().combine(deltas, equal(), np.zeros(4), SITES)
    assert np.abs(decision.delta - honest_mean()).max() < 0.3
    assert 0 < decision.share[4] <= decision.share.max()


def test_cosine_filter_keeps_a_different_honest_update_that_krum_drops():
    """Attack-disjoint sites: one honest site learns something the others do not (an extra
    coordinate); it still points the majority's way, so it keeps its weight."""
    common = np.array([1.0, 1.0, 0.0, 0.0])
    deltas = np.vstack(
        [common + 0.01 * i for i in range(4)] + [common + np.array([0, 0, 1.5, 1.5])]
    )
    kept = CosineFilter().combine(deltas, equal(), np.zeros(4), SITES)
    assert kept.share[4] > 0 and kept.delta[2] > 0.1
    assert MultiKrum().combine(deltas, equal(), np.zeros(4), SITES).share[4] == 0.0


def test_cosine_filter_reputation_forgives_one_stray_round_but_not_a_persistent_one():
    rule = CosineFilter(memory=0.5)
    rounds = [with_outlier(-DIRECTION) for _ in range(3)]
    stray = rounds[1].copy()
    orthogonal = np.array([2.0, 1.0, 0.0, 0.0])  # orthogonal to DIRECTION
    stray[0] = orthogonal - 0.3 * np.linalg.norm(orthogonal) / np.linalg.norm(DIRECTION) * DIRECTION
    rounds[1] = stray  # org0 points slightly away from the majority in one round
    shares = [rule.combine(d, equal(), np.zeros(4), SITES).share for d in rounds]
    assert all(s[4] == 0.0 for s in shares)  # persistent: left out every round
    assert shares[1][0] > 0  # one stray round: kept
    assert rule.reputation["org0"] > 0.5 and rule.reputation["org4"] < -0.9

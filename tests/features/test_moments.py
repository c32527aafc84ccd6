from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import ColumnStats, FeatureStats, local_stats, merge_stats


def _stats(values) -> ColumnStats:
    return ColumnStats.of(np.asarray(values, dtype=float))


def _exact(values: np.ndarray) -> tuple[float, float]:
    """Centered second and third power sums of float values, in exact rational arithmetic."""
    xs = [Fraction(float(v)) for v in values]
    mean = sum(xs) / len(xs)
    return float(sum((x - mean) ** 2 for x in xs)), float(sum((x - mean) ** 3 for x in xs))


# tolerance: data near 1e9 carry ~1e-7 absolute resolution, so moments of unit-scale spread
# carry relative errors of that order whichever formula is used
@pytest.mark.parametrize("offset, rel", [(0.0, 1e-12), (1e6, 1e-8), (1e9, 1e-5)])
def test_pairwise_merge_equals_the_exact_moments_of_the_pooled_rows(offset, rel):
    rng = np.random.default_rng(7)
    parts = [offset + rng.gamma(2.0, 3.0, size) for size in (1, 17, 400, 5000)]
    merged = _stats(parts[0])
    for part in parts[1:]:
        merged = merged.merge(_stats(part))
    pooled = np.concatenate(parts)
    m2, m3 = _exact(pooled)
    assert merged.n == len(pooled) and merged.missing == 0
    assert merged.mean == pytest.approx(pooled.mean(), rel=1e-15, abs=1e-9)
    assert merged.m2 == pytest.approx(m2, rel=rel)
    assert merged.m3 == pytest.approx(m3, rel=10 * rel)
    assert merged.skewness() == pytest.approx(np.sqrt(len(pooled)) * m3 / m2**1.5, rel=10 * rel)


def test_empty_and_missing_values_merge_as_counts_only():
    values = np.array([1.0, np.nan, 3.0, np.inf])
    stats = _stats(values)
    assert (stats.n, stats.missing, stats.mean) == (2, 2, 2.0)
    nothing = _stats([np.nan, np.nan])
    assert nothing.merge(stats) == ColumnStats(**{**vars(stats), "missing": 4})
    assert stats.merge(ColumnStats()) == stats


def test_a_constant_column_far_from_zero_has_no_spread_and_no_skew():
    stats = _stats(np.full(1000, 1e9)).merge(_stats(np.full(10, 1e9)))
    assert stats.spread(log=False) == (1e9, 0.0) and stats.skewness() == 0.0


def test_merged_columns_count_absent_columns_as_missing():
    a = FeatureFrame(pd.DataFrame({"x": [1.0, 2.0], "y": [5.0, 6.0]}), ("x", "y"), ())
    b = FeatureFrame(pd.DataFrame({"x": [3.0, 4.0, 5.0]}), ("x",), ())
    merged = merge_stats([local_stats(a), local_stats(b)])
    assert list(merged.numeric) == ["x", "y"]
    assert (merged.numeric["y"].n, merged.numeric["y"].missing) == (2, 3)


def test_json_round_trips_and_impossible_summaries_are_refused():
    frame = FeatureFrame(pd.DataFrame({"x": [1.0, -2.0, 30.0, np.nan]}), ("x",), ("proto",))
    stats = local_stats(frame)
    data = stats.to_json()
    assert FeatureStats.from_json(data) == stats
    column = data["numeric"]["x"]
    for field, value, problem in [
        ("n", 9, "!= 4 rows"),
        ("n", 2.5, "not a non-negative integer"),
        ("negative", 7, "outside"),
        ("m2", -1.0, "negative sum of squares"),
        ("mean", float("nan"), "not finite"),
    ]:
        bad = {**data, "numeric": {"x": {**column, field: value}}}
        with pytest.raises(ValueError, match=problem):
            FeatureStats.from_json(bad)
    with pytest.raises(ValueError, match="not a non-negative integer"):
        FeatureStats.from_json({**data, "rows": -4})
    with pytest.raises(ValueError, match="expected the fields"):
        FeatureStats.from_json({**data, "numeric": {"x": {**column, "sum": 1.0}}})

"""Histograms of the preprocessing statistics: bounded per-record contributions, and a fit
close to the one from exact moments on real UNSW-NB15 rows."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fedsec.data.flows import FeatureFrame
from fedsec.data.readers import read_flows
from fedsec.features.histograms import (
    RAW_CENTRES,
    UNIT,
    from_histograms,
    histogram_vector,
    sensitivity,
)
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from tests.conftest import dataset


@pytest.fixture(scope="module")
def unsw():
    table = read_flows("unsw-nb15", [dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz")])
    rows = np.random.default_rng(3).permutation(len(table.family))[:20_000]
    features = table.features("native")
    frame = features.frame.iloc[rows].reset_index(drop=True)
    return FeatureFrame(frame, features.numeric, features.categorical), table.family[rows]


def test_one_record_moves_the_histograms_by_exactly_the_sensitivity(unsw):
    features, family = unsw
    columns = [*features.numeric, "absent_column"]
    full = histogram_vector(features, family, columns)
    rest = FeatureFrame(features.frame.iloc[1:], features.numeric, features.categorical)
    fewer = histogram_vector(rest, family[1:], columns)
    assert np.linalg.norm(full - fewer) == pytest.approx(sensitivity(columns))
    assert np.abs(full - fewer).max() == 1.0


def test_exact_histograms_fit_the_preprocessing_of_exact_moments_up_to_binning(unsw):
    features, family = unsw
    columns = list(features.numeric)
    stats, counts = from_histograms(
        histogram_vector(features, family, columns), columns, list(features.categorical)
    )
    assert counts == Counter(map(str, family)) and stats.rows == len(family)
    binned = fit_preprocessor(stats, 16)
    exact = fit_preprocessor(local_stats(features), 16)
    assert binned.names == exact.names
    assert [s.log for s in binned.numeric] == [s.log for s in exact.numeric]
    for a, b in zip(binned.numeric, exact.numeric, strict=True):
        # bins are ~±13 % wide above UNIT, ~UNIT/4 below: means within 0.15 sd, sds within 10 %
        assert abs(a.mean - b.mean) <= 0.15 * b.std + UNIT, a.name
        assert 0.88 <= a.std / b.std <= 1.1, a.name
        assert a.indicator == b.indicator


def test_bins_keep_values_above_ten_apart_from_the_others():
    frame = FeatureFrame(pd.DataFrame({"x": [9.99, 10.01, 1e13, -1e13, np.nan, 0.0]}), ["x"], [])
    stats, _ = from_histograms(
        histogram_vector(frame, np.asarray(["benign"] * 6), ["x"]), ["x"], []
    )
    column = stats.numeric["x"]
    assert (column.n, column.missing, column.negative, column.large) == (5, 1, 1, 2)
    assert RAW_CENTRES.max() < 1e13  # beyond the outer bins, values are clipped into them

"""Sample counts cannot buy influence."""

import numpy as np

from fedsec.fl.robustness.samples import cap_weights


def test_a_claim_above_the_registered_rows_is_cut_to_them():
    weights, capped = cap_weights(["a", "b", "c"], [100, 100, 10_000], {"c": 120}, 10.0)
    np.testing.assert_array_equal(weights, [100, 100, 120])
    assert capped == ["c"]


def test_no_weight_exceeds_the_ratio_times_the_median_even_if_registered():
    weights, capped = cap_weights(["a", "b", "c", "d"], [100, 90, 110, 5000], {}, 2.0)
    assert weights.max() == 2.0 * np.median([100, 90, 110, 5000])
    assert capped == ["d"]
    honest, none = cap_weights(["a", "b"], [100, 150], {"a": 100, "b": 150}, 2.0)
    np.testing.assert_array_equal(honest, [100, 150])
    assert none == []

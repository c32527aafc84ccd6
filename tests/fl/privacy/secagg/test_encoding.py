import numpy as np
import pytest

from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError, decode, encode, per_party_bound


def test_round_trip_is_within_half_a_step():
    values = np.random.default_rng(0).uniform(-100, 100, 10_000)
    assert np.abs(decode(encode(values, 10)) - values).max() <= 2**-17


def test_sums_of_encodings_wrap_and_decode_to_the_sum():
    rng = np.random.default_rng(1)
    parts = [rng.uniform(-300, 300, 1000) for _ in range(20)]
    total = np.zeros(1000, dtype=np.uint32)
    for part in parts:
        total = total + encode(part, 20)
    assert np.abs(decode(total) - np.sum(parts, axis=0)).max() <= 20 * 2**-17


def test_values_that_could_overflow_the_sum_are_refused():
    assert per_party_bound(10) == 2**15 / 10
    with pytest.raises(EncodingOverflowError, match="exceeds the secure-aggregation bound"):
        encode(np.array([0.0, 3300.0]), 10)
    with pytest.raises(EncodingOverflowError, match="NaN"):
        encode(np.array([np.nan]), 2)

import numpy as np
import pytest

from fedsec.fl.privacy.secagg import secure_sum
from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError
from fedsec.fl.privacy.widesum import LIMBS, narrow, value_bound, widen


def test_secure_sum_of_wide_values_is_exact_far_beyond_the_update_range():
    values = {
        "a": np.array([82_332.0, 1.5e24, -7.25, 1e-9, 0.0]),
        "b": np.array([10.0, -1.5e24, -0.75, 2e-9, 3e40]),
        "c": np.array([1.0, 2.0**70, 8.0, 0.0, -3e40]),
    }
    vectors = {name: widen(v, 3) for name, v in values.items()}
    assert all(len(v) == 5 * LIMBS for v in vectors.values())
    total = narrow(secure_sum(vectors, -1).total)
    assert total[0] == 82_343.0 and total[2] == 0.0
    assert total[1] == 2.0**70  # the two 1.5e24 cancel exactly, as float64 addition would not
    assert total[3] == pytest.approx(3e-9, rel=1e-9)
    assert total[4] == 0.0


def test_a_value_that_could_overflow_the_ring_is_refused_before_sending():
    bound = value_bound(4)
    widen(np.array([bound * 0.99]), 4)
    with pytest.raises(EncodingOverflowError, match="exceeds the secure-sum bound"):
        widen(np.array([1.0, -bound]), 4, "column sums")
    with pytest.raises(EncodingOverflowError, match="NaN or Infinity"):
        widen(np.array([np.nan]), 4)


def test_a_malformed_sum_is_refused():
    with pytest.raises(ValueError, match="limbs per value"):
        narrow(np.zeros(LIMBS + 1))

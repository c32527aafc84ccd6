import numpy as np
import pytest

from fedsec.fl.aggregation import SiteResult, WeightedMean, weighted_average
from fedsec.training.plan import Update


def _update(value: float, n: int) -> Update:
    return Update([np.full((2, 3), value, np.float32), np.full(3, -value, np.float32)], n)


def test_weighted_average_weights_by_samples():
    avg = weighted_average([_update(1.0, 100), _update(4.0, 300)])
    assert np.allclose(avg[0], 3.25) and np.allclose(avg[1], -3.25)


def test_weighted_average_rejects_nothing_to_average():
    with pytest.raises(ValueError):
        weighted_average([])
    with pytest.raises(ValueError):
        weighted_average([_update(1.0, 0)])


def test_weighted_mean_passes_each_sites_extras_on_in_clear():
    extra = [np.array([1.0, 2.0], np.float32)]
    results = {
        "a": SiteResult(_update(1.0, 100), extra),
        "b": SiteResult(_update(4.0, 300), [2 * extra[0]]),
    }
    start = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
    combined = WeightedMean().combine(start, results, 1)
    assert np.allclose(combined.params[0], 3.25)
    assert list(combined.extras) == ["a", "b"] and np.allclose(combined.extras["b"][0], [2, 4])
    assert combined.extra_total is None

"""The robust aggregation under a strategy: deltas from the global model, the log of decisions."""

import numpy as np

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.robustness import MultiKrum, RobustAggregation
from fedsec.fl.robustness.base import Mean
from fedsec.fl.strategies import FedAdam, FedAvg
from fedsec.training.local import Update


def results(global_params, changes, rows):
    return {
        f"org{i}": SiteResult(
            Update(
                [(g + c).astype(np.float32) for g, c in zip(global_params, change, strict=True)], n
            )
        )
        for i, (change, n) in enumerate(zip(changes, rows, strict=True))
    }


def test_fedavg_with_krum_steps_by_the_honest_mean_and_logs_who_was_left_out():
    global_params = [np.zeros((2, 2), np.float32), np.ones(3, np.float32)]
    honest = [[np.full((2, 2), 0.1 + 0.01 * i), np.full(3, -0.1)] for i in range(4)]
    flipped = [[-10 * a for a in honest[0]]]
    site_results = results(global_params, honest + flipped, [100] * 5)
    aggregation = RobustAggregation(MultiKrum(), {f"org{i}": 100 for i in range(5)})
    strategy = FedAvg(1.0, aggregation)
    new, _ = strategy.aggregate(1, global_params, site_results)
    np.testing.assert_allclose(new[0], np.full((2, 2), 0.115), atol=1e-6)
    np.testing.assert_allclose(new[1], np.full(3, 0.9), atol=1e-6)
    record = aggregation.log[0].to_json()
    assert record["excluded"] == ["org4"] and record["round"] == 1
    assert record["share"]["org0"] == 0.25


def test_inflated_sample_count_is_capped_and_logged():
    global_params = [np.zeros(2, np.float32)]
    changes = [[np.array([1.0, 1.0])]] * 4 + [[np.array([-5.0, -5.0])]]
    site_results = results(global_params, changes, [100, 100, 100, 100, 100_000])
    aggregation = RobustAggregation(Mean(), {f"org{i}": 100 for i in range(5)})
    new, _ = FedAdam(0.1, aggregation).aggregate(1, global_params, site_results)
    combined = aggregation.combine(global_params, site_results, 2)
    np.testing.assert_allclose(combined.params[0], [-0.2, -0.2], atol=1e-6)  # equal weights
    assert aggregation.log[-1].capped == ["org4"]
    assert np.isfinite(new[0]).all()

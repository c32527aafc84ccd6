"""The robust aggregation under a strategy: deltas from the global model, the log of decisions."""

import numpy as np

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.robustness import MultiKrum, NormBound, RobustAggregation
from fedsec.fl.robustness.base import FREE_RIDER, Mean
from fedsec.fl.strategies import FedAdam, FedAvg
from fedsec.training.plan import Update


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


def test_a_free_rider_is_left_out_and_cannot_drag_the_norm_bound_down():
    """Sends the global model back: its zero change would lower the median norm, so honest
    sites with large changes would be clipped (and the mean diluted)."""
    global_params = [np.zeros(2, np.float32)]
    changes = [[np.array([2.0, 0.0])], [np.array([2.0, 0.0])], [np.array([0.0, 0.2])]]
    changes += [[np.array([0.0, 0.2])], [np.zeros(2)]]
    site_results = results(global_params, changes, [100] * 5)
    aggregation = RobustAggregation(NormBound(), {f"org{i}": 100 for i in range(5)})
    combined = aggregation.combine(global_params, site_results, 1)
    honest = RobustAggregation(NormBound()).combine(
        global_params, {n: r for n, r in site_results.items() if n != "org4"}, 1
    )
    np.testing.assert_allclose(combined.params[0], honest.params[0], atol=1e-7)
    record = aggregation.log[0]
    assert record.excluded == ["org4"] and record.share["org4"] == 0.0
    assert abs(sum(record.share.values()) - 1.0) < 1e-9
    assert record.to_json()["reasons"] == {"org4": FREE_RIDER}


def test_a_majority_of_idle_sites_is_not_left_out():
    global_params = [np.zeros(2, np.float32)]
    changes = [[np.zeros(2)]] * 3 + [[np.array([1.0, 1.0])]] * 2
    aggregation = RobustAggregation(Mean(), {f"org{i}": 100 for i in range(5)})
    combined = aggregation.combine(global_params, results(global_params, changes, [100] * 5), 1)
    np.testing.assert_allclose(combined.params[0], [0.4, 0.4], atol=1e-6)
    assert aggregation.log[0].excluded == []


def test_a_boosted_update_cannot_make_honest_changes_look_idle():
    global_params = [np.zeros(2, np.float32)]
    changes = [[np.array([10.0, 0.0])]] * 3 + [[np.array([0.0, 1.0])]]
    changes += [[np.array([5e3, 0.0])]]
    aggregation = RobustAggregation(Mean(), {f"org{i}": 100 for i in range(5)})
    aggregation.combine(global_params, results(global_params, changes, [100] * 5), 1)
    assert aggregation.log[0].excluded == []

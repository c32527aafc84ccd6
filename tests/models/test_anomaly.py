"""One-class detectors: scores, error scale, thresholds, contributions (synthetic data)."""

import numpy as np
import pandas as pd
import pytest
import torch

from fedsec.core import seeding
from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.anomaly import federated_threshold, scale_from_sums
from fedsec.models.base import calibrate_threshold
from fedsec.models.detectors import new_detector
from fedsec.models.iforest import IsolationForestDetector
from fedsec.models.one_class import column_groups
from fedsec.models.svdd import EPS, SVDDSpec, build_svdd, center_from_sums, embedding_sum
from fedsec.training.plan import TrainingPlan


def _frame(n=2000, seed=0):
    """Benign rows: b = 2a (+ noise), c = -a, protocol tcp/udp."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame(
        {
            "a": a,
            "b": 2 * a + 0.05 * rng.normal(size=n),
            "c": -a + 0.05 * rng.normal(size=n),
            "proto": rng.choice(["tcp", "udp"], n),
        }
    )


def _pre(frame):
    return fit_preprocessor(local_stats(FeatureFrame(frame, ("a", "b", "c"), ("proto",))), 4)


@pytest.fixture(autouse=True)
def _single_thread():
    seeding.deterministic_torch(threads=1)  # as every run does; 2 threads crawl on a busy host


PLAN = TrainingPlan(steps=30, batch_size=128, lr=0.01, optimizer="adam", seed=1)


@pytest.mark.parametrize("kind", ["ae", "svdd"])
def test_rows_breaking_the_benign_structure_score_higher(kind):
    frame = _frame()
    pre = _pre(frame)
    det = new_detector(kind, pre, "native", [16], 2, torch.Generator().manual_seed(0))
    det.set_params(plan=PLAN, rounds=5).fit(frame)
    benign = det.decision_function(_frame(500, seed=1))
    odd = _frame(500, seed=2)
    odd["b"] = -odd["b"]  # b no longer follows a
    anomalous = det.decision_function(odd)
    assert np.median(anomalous) > 3 * np.median(benign)
    assert 0.5 < float(np.mean(det.decision_function(frame))) < 2.0  # benign scale ~1


def test_contributions_name_the_column_that_deviates():
    frame = _frame()
    det = new_detector("ae", _pre(frame), "native", [16], 2, torch.Generator().manual_seed(0))
    det.set_params(plan=PLAN, rounds=5).fit(frame)
    odd = _frame(200, seed=3)
    odd["c"] = odd["c"] + 6.0
    columns, shares = det.contributions(det.encode(odd))
    assert columns == ["a", "b", "c", "proto"]
    assert np.allclose(shares.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(shares.argmax(axis=1) == columns.index("c")) > 0.9


def test_predict_uses_the_org_threshold_then_the_global_one():
    frame = _frame(300)
    det = new_detector("ae", _pre(frame), "native", [8], 2, torch.Generator().manual_seed(0))
    det.fit(frame)  # default plan: one Adam epoch
    scores = det.decision_function(frame)
    with pytest.raises(ValueError, match="no threshold"):
        det.predict(frame)
    det.thresholds_ = {"org1": float(np.median(scores)), "*": float(scores.max())}
    assert det.predict(frame, "org1").sum() == np.sum(scores > np.median(scores))
    assert det.predict(frame, "elsewhere").sum() == 0


def test_column_groups_fold_buckets_and_missing_flags_into_their_column():
    frame = _frame(50)
    frame.loc[0, "a"] = np.nan
    pre = _pre(frame)
    columns, groups = column_groups(pre)
    assert columns == ["a", "b", "c", "proto"]
    names = [[pre.names[i] for i in g] for g in groups]
    assert names[0] == ["a", "a__missing"]
    assert names[3] == [f"proto#{b}" for b in range(4)]


def test_error_scale_is_the_pooled_mean_with_a_floor():
    parts = [(np.array([2.0, 0.0, 4.0]), 2), (np.array([4.0, 0.0, 2.0]), 4)]
    scale = scale_from_sums(parts, floor=0.1)
    assert scale[0] == pytest.approx(1.0) and scale[2] == pytest.approx(1.0)
    assert scale[1] == pytest.approx(0.1 * (2 / 3))  # floor: 0.1 x mean over columns
    with pytest.raises(ValueError, match="benign row"):
        scale_from_sums([(np.zeros(3), 0)], 0.1)


def test_federated_threshold_matches_the_pooled_quantile_from_counts_only():
    rng = np.random.default_rng(0)
    parts = [rng.exponential(size=n) for n in (300, 1200, 45)]
    pooled = np.sort(np.concatenate(parts))
    for target in (0.01, 0.05, 0.2):
        t = federated_threshold(parts, target)
        allowed = int(np.floor(target * len(pooled)))
        assert np.sum(pooled > t) <= allowed
        assert t == pytest.approx(pooled[len(pooled) - 1 - allowed], rel=1e-9)
    one = rng.normal(size=500)
    assert np.mean(one > federated_threshold([one], 0.01)) <= 0.01
    assert np.mean(one > calibrate_threshold(one, 0.01)) <= 0.01
    with pytest.raises(ValueError, match="benign validation"):
        federated_threshold([np.zeros(0)], 0.01)


def test_svdd_centre_is_the_federated_mean_of_the_initial_embeddings():
    net = build_svdd(SVDDSpec(4, (8,), 3), torch.Generator().manual_seed(0))
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(n, 4)).astype(np.float32) for n in (10, 30)]
    center = np.asarray(center_from_sums([embedding_sum(net, x) for x in xs]))
    with torch.no_grad():
        pooled = net(torch.from_numpy(np.concatenate(xs))).numpy().mean(axis=0)
    expected = np.where(np.abs(pooled) < EPS, np.where(pooled < 0, -EPS, EPS), pooled)
    assert np.allclose(center, expected, atol=1e-5)
    assert all(b is None for b in (m.bias for m in net.net if hasattr(m, "bias")))


def test_isolation_forest_is_seeded_and_scores_outliers_higher():
    frame = _frame(800)
    pre = _pre(frame)
    a = IsolationForestDetector(pre, "native", trees=50, seed=3).fit(frame)
    b = IsolationForestDetector(pre, "native", trees=50, seed=3).fit(frame)
    odd = _frame(100, seed=5)
    odd["a"] = odd["a"] + 8
    assert np.array_equal(a.decision_function(odd), b.decision_function(odd))
    assert np.median(a.decision_function(odd)) > np.median(a.decision_function(frame))
    with pytest.raises(ValueError, match="not fitted"):
        IsolationForestDetector(pre, "native").decision_function(frame)

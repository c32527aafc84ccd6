import numpy as np
import pandas as pd
import pytest

from fedsec.data.flows import FeatureFrame
from fedsec.features.preprocess import (
    Preprocessor,
    bucket,
    fit_preprocessor,
    is_heavy_tailed,
    local_stats,
    merge_stats,
)


def _frame(rows: int, seed: int) -> FeatureFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "bytes": rng.pareto(1.5, rows) * 1000,
            "ratio": rng.uniform(0, 1, rows),
            "ttl": rng.choice([0.0, 62.0, 254.0], rows),
            "proto": rng.choice(["tcp", "udp", "icmp"], rows).astype(object),
        }
    )
    frame.loc[frame.index[::17], "ratio"] = np.nan
    return FeatureFrame(frame, ("bytes", "ratio", "ttl"), ("proto",))


def test_merged_summaries_equal_the_pooled_ones():
    parts = [_frame(500, 1), _frame(300, 2), _frame(800, 3)]
    pooled = FeatureFrame(
        pd.concat([p.frame for p in parts], ignore_index=True),
        parts[0].numeric,
        parts[0].categorical,
    )
    merged = fit_preprocessor(merge_stats([local_stats(p) for p in parts]), 8)
    direct = fit_preprocessor(local_stats(pooled), 8)
    for a, b in zip(merged.numeric, direct.numeric, strict=True):
        assert a.log == b.log and a.indicator == b.indicator
        assert a.mean == pytest.approx(b.mean, rel=1e-9)
        assert a.std == pytest.approx(b.std, rel=1e-9)


def test_heavy_tails_are_logged_and_bounded_columns_are_not():
    pre = fit_preprocessor(local_stats(_frame(2000, 0)), 8)
    logged = {spec.name: spec.log for spec in pre.numeric}
    assert logged == {"bytes": True, "ratio": False, "ttl": False}
    assert is_heavy_tailed(local_stats(_frame(2000, 0)).numeric["bytes"])


def test_transform_standardizes_flags_missing_and_hashes_categories():
    frame = _frame(4000, 5)
    pre = fit_preprocessor(local_stats(frame), 8)
    x = pre.transform(frame.frame)
    assert x.shape == (4000, pre.width) and x.dtype == np.float32
    assert np.isfinite(x).all()
    names = pre.names
    ratio = x[:, names.index("ratio")]
    present = ~np.isnan(frame.frame["ratio"].to_numpy())
    assert abs(ratio[present].mean()) < 1e-3 and ratio[present].std() == pytest.approx(1, 1e-3)
    assert (x[:, names.index("ratio__missing")] == (~present)).all()
    hashed = x[:, [i for i, n in enumerate(names) if n.startswith("proto#")]]
    assert (hashed.sum(axis=1) == 1).all()


def test_absent_columns_count_as_missing_and_json_round_trips():
    frame = _frame(100, 6)
    pre = fit_preprocessor(local_stats(frame), 4)
    x = pre.transform(frame.frame.drop(columns=["ratio", "proto"]))
    assert np.isfinite(x).all()
    clone = Preprocessor.from_json(pre.to_json())
    assert np.array_equal(clone.transform(frame.frame), pre.transform(frame.frame))


def test_hash_buckets_are_stable_across_runs():
    assert bucket("proto", "tcp", 16) == bucket("proto", "tcp", 16)
    assert 0 <= bucket("service", "http", 16) < 16

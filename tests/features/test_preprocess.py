import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.utils import murmurhash3_32 as sklearn_murmurhash3_32

from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats, merge_stats, signed_log1p
from fedsec.features.preprocess import (
    Preprocessor,
    bucket,
    fit_preprocessor,
    is_heavy_tailed,
    murmurhash3_32,
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


@given(st.text(max_size=40), st.integers(0, 2**32 - 1))
def test_the_bucket_hash_is_scikit_learns_murmurhash3(text, seed):
    """Bundles trained with scikit-learn's MurmurHash3 keep their buckets: the hash written
    out in fedsec (so that scoring need not import scikit-learn) is the same function."""
    expected = sklearn_murmurhash3_32(text, seed=seed, positive=True)
    assert murmurhash3_32(text.encode(), seed) == expected


def _offset(offset: float, seed: int, rows: int = 20_000) -> FeatureFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": offset + rng.normal(0.0, 1.0, rows)})
    return FeatureFrame(frame, ("x",), ())


def test_a_large_offset_keeps_its_unit_spread():
    """1e9 + N(0,1), split over three orgs: raw power sums gave std 16 (issue 12 item 9)."""
    parts = [_offset(1e9, seed) for seed in (1, 2, 3)]
    spec = fit_preprocessor(merge_stats([local_stats(p) for p in parts]), 4).numeric[0]
    pooled = np.concatenate([p.frame["x"].to_numpy() for p in parts])
    assert not spec.log
    assert spec.mean == pytest.approx(pooled.mean(), abs=1e-6)
    assert spec.std == pytest.approx(pooled.std(), rel=1e-6)


def test_a_symmetric_column_far_from_zero_is_not_heavy_tailed():
    """1e6 + N(0,1) has skewness 0; the power-sum formula classed it heavy-tailed."""
    merged = merge_stats([local_stats(_offset(1e6, seed)) for seed in (4, 5)])
    assert not is_heavy_tailed(merged.numeric["x"])
    assert not fit_preprocessor(merged, 4).numeric[0].log


def _unsw_orgs(orgs: int = 4) -> list[FeatureFrame]:
    from fedsec.data.readers import read_flows
    from tests.conftest import dataset

    table = read_flows("unsw-nb15", [dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz")])
    features = table.features("native")
    rows = np.random.default_rng(0).permutation(len(features))[:20_000]
    return [
        FeatureFrame(
            features.frame.iloc[part].reset_index(drop=True), features.numeric, features.categorical
        )
        for part in np.array_split(rows, orgs)
    ]


def test_real_heavy_tailed_unsw_columns_stay_logged_and_merging_equals_pooling():
    parts = _unsw_orgs()
    merged = merge_stats([local_stats(p) for p in parts])
    pooled = local_stats(
        FeatureFrame(pd.concat([p.frame for p in parts]), parts[0].numeric, parts[0].categorical)
    )
    for column in ("sbytes", "dbytes", "spkts", "sload", "response_body_len"):
        assert is_heavy_tailed(merged.numeric[column]), column
    for column in ("sttl", "swin", "is_sm_ips_ports"):
        assert not is_heavy_tailed(merged.numeric[column]), column
    fitted, direct = fit_preprocessor(merged, 8), fit_preprocessor(pooled, 8)
    for a, b in zip(fitted.numeric, direct.numeric, strict=True):
        assert (a.name, a.log, a.indicator) == (b.name, b.log, b.indicator)
        assert a.mean == pytest.approx(b.mean, rel=1e-9, abs=1e-12)
        assert a.std == pytest.approx(b.std, rel=1e-9)


def _stacked_transform(pre: Preprocessor, frame: pd.DataFrame) -> np.ndarray:
    """The transform as it was: float64 blocks stacked, then cast (the reference)."""
    n, blocks, flags = len(frame), [], []
    for spec in pre.numeric:
        raw = frame[spec.name].to_numpy(float) if spec.name in frame else np.full(n, np.nan)
        missing = ~np.isfinite(raw)
        values = signed_log1p(raw) if spec.log else raw
        scaled = np.clip((values - spec.mean) / spec.std, -20.0, 20.0)
        blocks.append(np.where(missing, 0.0, scaled))
        if spec.indicator:
            flags.append(missing.astype(float))
    hashed = []
    for column in pre.categorical:
        values = frame[column].astype(str) if column in frame else pd.Series(["-"] * n)
        onehot = np.zeros((n, pre.hash_buckets), np.float32)
        onehot[np.arange(n), [bucket(column, v, pre.hash_buckets) for v in values]] = 1.0
        hashed.append(onehot)
    return np.hstack([np.column_stack(blocks + flags), *hashed]).astype(np.float32)


@pytest.mark.parametrize("drop", [[], ["ratio"], ["proto", "ttl"]])
def test_the_preallocated_transform_gives_the_stacked_matrix_bit_for_bit(drop):
    frame = _frame(3000, 9)
    pre = fit_preprocessor(local_stats(frame), 8)
    data = frame.frame.drop(columns=drop)
    data.loc[data.index[::13], "bytes"] = np.inf
    assert np.array_equal(pre.transform(data), _stacked_transform(pre, data))


def test_the_in_place_transform_is_the_stacked_matrix_on_real_unsw_flows():
    """Real UNSW-NB15 rows (negative, zero, heavy-tailed and missing values among them),
    scaled by a preprocessor fitted on them, with the in-place column scaling: bit for bit the
    reference, logged and unlogged columns alike."""
    parts = _unsw_orgs(2)
    pre = fit_preprocessor(merge_stats([local_stats(p) for p in parts]), 8)
    frame = parts[1].frame.copy()
    frame.loc[frame.index[::7], "sbytes"] = np.nan
    frame.loc[frame.index[::11], "dur"] = -np.inf
    assert any(s.log for s in pre.numeric) and not all(s.log for s in pre.numeric)
    assert np.array_equal(pre.transform(frame), _stacked_transform(pre, frame))

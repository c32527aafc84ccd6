from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats, merge_stats, union_columns
from fedsec.features.preprocess import fit_preprocessor
from fedsec.features.summaries import (
    centres,
    centres_vector,
    combine,
    summaries_length,
    summaries_vector,
)


def _org(rows: int, seed: int, columns=("bytes", "ratio", "ttl")):
    rng = np.random.default_rng(seed)
    data = {
        "bytes": 1e9 + rng.pareto(1.5, rows) * 1000,
        "ratio": rng.uniform(-1, 1, rows),
        "ttl": rng.choice([0.0, 62.0, 254.0], rows),
    }
    frame = pd.DataFrame({c: data[c] for c in columns})
    if "ratio" in frame:
        frame.loc[frame.index[::7], "ratio"] = np.nan
    families = rng.choice(["benign", "dos", "recon"], rows)
    return FeatureFrame(frame, tuple(columns), ()), families


def _two_passes(orgs, centre_shift=0.0):
    numeric, categorical = union_columns([(list(f.numeric), list(f.categorical)) for f, _ in orgs])
    centre, log_centre = centres(np.sum([centres_vector(f, numeric) for f, _ in orgs], 0), numeric)
    centre = centre + centre_shift
    total = np.sum([summaries_vector(f, y, numeric, centre, log_centre) for f, y in orgs], axis=0)
    return combine(total, numeric, categorical, centre, log_centre)


def test_two_summed_passes_give_the_pairwise_merged_summaries():
    orgs = [_org(300, 1), _org(50, 2, ("ttl", "bytes")), _org(1000, 3)]
    stats, families = _two_passes(orgs)
    clear = merge_stats([local_stats(f) for f, _ in orgs])
    assert families == Counter(np.concatenate([y for _, y in orgs]).tolist())
    assert stats.rows == clear.rows and list(stats.numeric) == list(clear.numeric)
    for name, column in stats.numeric.items():
        other = clear.numeric[name]
        for field in ("n", "missing", "negative", "large"):
            assert getattr(column, field) == getattr(other, field), (name, field)
        for field in ("mean", "m2", "m3", "log_mean", "log_m2"):
            assert getattr(column, field) == pytest.approx(getattr(other, field), rel=1e-9)
    fitted, plain = fit_preprocessor(stats, 4), fit_preprocessor(clear, 4)
    assert [s.log for s in fitted.numeric] == [s.log for s in plain.numeric] == [True, False, False]
    for a, b in zip(fitted.numeric, plain.numeric, strict=True):
        assert a.std == pytest.approx(b.std, rel=1e-12)


def test_the_result_does_not_depend_on_the_released_centre():
    orgs = [_org(400, 4), _org(400, 5)]
    exact, _ = _two_passes(orgs)
    shifted, _ = _two_passes(orgs, centre_shift=3.0)
    for name in exact.numeric:
        a, b = exact.numeric[name], shifted.numeric[name]
        assert b.mean == pytest.approx(a.mean, rel=1e-12)
        assert b.m2 == pytest.approx(a.m2, rel=1e-6)


def test_labels_outside_the_taxonomy_and_tampered_sums_are_refused():
    frame, families = _org(10, 6)
    with pytest.raises(ValueError, match="not in the taxonomy"):
        summaries_vector(frame, np.array(["benign"] * 9 + ["mystery"]), ["ttl"], [0.0], [0.0])
    total = summaries_vector(frame, families, ["ttl"], np.zeros(1), np.zeros(1))
    assert len(total) == summaries_length(["ttl"])
    bad = total.copy()
    bad[0] += 1  # one more row than the families account for
    with pytest.raises(ValueError, match="rows per family add up"):
        combine(bad, ["ttl"], [], np.zeros(1), np.zeros(1))
    bad = total.copy()
    bad[-8] = 11  # more present values than rows
    with pytest.raises(ValueError, match=r"numeric\.ttl"):
        combine(bad, ["ttl"], [], np.zeros(1), np.zeros(1))

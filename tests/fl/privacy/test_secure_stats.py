"""Preprocessing statistics under secure aggregation, on real UNSW-NB15 rows split over orgs."""

from collections import Counter

import numpy as np
import pytest

from fedsec.data.readers import read_flows
from fedsec.features.moments import local_stats, merge_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.fl.privacy import secagg
from fedsec.fl.privacy.secure_stats import STATISTICS_ROUNDS, secure_statistics
from tests.conftest import dataset, org_rows


@pytest.fixture(scope="module")
def unsw():
    table = read_flows("unsw-nb15", [dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz")])
    rows = np.random.default_rng(1).permutation(len(table.family))[:24_000]
    return table.features("native"), table.family, rows


def _orgs(unsw, count):
    features, family, rows = unsw
    return org_rows(features, family, np.array_split(rows, count))


@pytest.mark.parametrize("count", [3, 5])
def test_protected_preprocessing_equals_the_clear_one(unsw, count):
    orgs = _orgs(unsw, count)
    stats, families = secure_statistics(orgs)
    clear = merge_stats([local_stats(o.features) for o in orgs])
    assert families == Counter(np.concatenate([o.families for o in orgs]).tolist())
    assert stats.rows == clear.rows == 24_000
    protected, plain = fit_preprocessor(stats, 16), fit_preprocessor(clear, 16)
    assert protected.names == plain.names
    assert [s.log for s in protected.numeric] == [s.log for s in plain.numeric]
    for a, b in zip(protected.numeric, plain.numeric, strict=True):
        assert a.mean == pytest.approx(b.mean, rel=1e-12, abs=1e-15), a.name
        assert a.std == pytest.approx(b.std, rel=1e-12), a.name


def test_each_pass_is_a_secure_sum_of_its_own_round(unsw, monkeypatch):
    seen = []
    real = secagg.secure_sum

    def spy(vectors, round_, threshold=None, *args):
        result = real(vectors, round_, threshold, *args)
        seen.append((round_, sorted(vectors), threshold, result.masked))
        return result

    monkeypatch.setattr(secagg, "secure_sum", spy)
    secure_statistics(_orgs(unsw, 3), threshold=3)
    assert [(r, names, t) for r, names, t, _ in seen] == [
        (STATISTICS_ROUNDS["centres"], ["org1", "org2", "org3"], 3),
        (STATISTICS_ROUNDS["summaries"], ["org1", "org2", "org3"], 3),
    ]
    # what the coordinator holds of one organization is masked: no row count in clear
    masked = seen[1][3]["org1"]
    assert masked.dtype == np.uint32 and len(np.unique(masked)) > len(masked) // 2

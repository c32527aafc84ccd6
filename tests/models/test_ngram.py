"""The STIDE n-gram baseline: the mismatch rate, and a federated table that is exactly the
pooled one (on real HDFS sessions)."""

import numpy as np
import pytest

from fedsec.models.ngram import NgramCounts, NgramDetector, merge_counts, session_ngrams
from fedsec.scenarios.loading import load_scenario
from fedsec.scenarios.logs import build_log_federation


def test_a_session_is_padded_so_short_sessions_and_their_end_are_n_grams():
    grams = session_ngrams(np.asarray([7, 8]), 3)
    assert grams.tolist() == [[-1, -1, 7], [-1, 7, 8], [7, 8, -2]]


def test_mismatch_rate_is_the_share_of_n_grams_never_seen_in_training():
    normal = [np.asarray([1, 2, 3, 4, 5]), np.asarray([1, 2, 3, 4, 5, 1, 2, 3, 4, 5])]
    model = NgramDetector(n=2).fit(normal)
    known = model.decision_function([np.asarray([1, 2, 3, 4, 5, 1, 2, 3])])
    # padded: (S,1) (1,2) (2,3) (3,4) (4,5) (5,1) (1,2) (2,3) (3,E): only (3,E) is new
    assert known[0] == pytest.approx(1 / 9)
    novel = model.decision_function([np.asarray([1, 3, 2])])  # (S,1) known; (1,3) (3,2) (2,E) not
    assert novel[0] == pytest.approx(3 / 4)
    assert model.decision_function(normal).tolist() == [0.0, 0.0]


def test_n_grams_seen_fewer_than_min_count_times_are_unknown():
    normal = [np.asarray([1, 2, 3]), np.asarray([1, 2, 3]), np.asarray([1, 2, 4])]
    strict = NgramDetector(n=2, min_count=2).fit(normal)
    assert strict.decision_function([np.asarray([1, 2, 4])])[0] == pytest.approx(2 / 4)
    assert NgramDetector(n=2).fit(normal).decision_function([np.asarray([1, 2, 4])])[0] == 0.0


def test_counts_of_different_n_do_not_merge():
    with pytest.raises(ValueError, match="3-grams with 2-grams"):
        NgramCounts.of([np.asarray([1, 2])], 3).merge(NgramCounts.of([np.asarray([1, 2])], 2))


def test_the_federated_table_is_exactly_the_pooled_one_on_hdfs(data_dir):
    scenario = load_scenario("hdfs-5org", [f"logs.sources.{i}.max_sessions=600" for i in range(3)])
    federation = build_log_federation(scenario, data_dir)
    shares = [NgramCounts.of(o.train.tokens, 6) for o in federation.orgs]
    merged = merge_counts(shares)
    pooled = NgramCounts.of([t for o in federation.orgs for t in o.train.tokens], 6)
    assert np.array_equal(merged.grams, pooled.grams)
    assert np.array_equal(merged.counts, pooled.counts)
    assert len({len(s.grams) for s in shares}) > 1  # the organizations' tables differ
    test = [t for o in federation.orgs for t in o.test.tokens]
    federated = NgramDetector(6, min_count=2).fit_counts(merged).decision_function(test)
    central = NgramDetector(6, min_count=2).fit_counts(pooled).decision_function(test)
    assert np.array_equal(federated, central)

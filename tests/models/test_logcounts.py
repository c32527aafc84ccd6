"""The count-vector PCA baseline: federated sums give exactly the pooled fit; unseen events."""

import numpy as np

from fedsec.models.logcounts import count_matrix, count_stats, fit_count_pca


def _sessions(rng, n, tokens):
    return [rng.choice(tokens, size=rng.integers(3, 12)) for _ in range(n)]


def test_federated_sums_equal_the_pooled_fit():
    rng = np.random.default_rng(0)
    index = np.array([10, 20, 30, 40, 50])
    parts = [_sessions(rng, n, index[:4]) for n in (30, 50, 20)]
    merged = count_stats(parts[0], index)
    for part in parts[1:]:
        merged = merged.merge(count_stats(part, index))
    pooled = count_stats([s for p in parts for s in p], index)
    a, b = fit_count_pca(merged, index, 0.9), fit_count_pca(pooled, index, 0.9)
    assert np.allclose(a.mean_, b.mean_) and a.components_.shape == b.components_.shape
    probe = _sessions(rng, 10, index)
    assert np.allclose(a.decision_function(probe), b.decision_function(probe))


def test_counts_and_unseen_events():
    x, unseen = count_matrix([np.array([10, 10, 30, 99])], np.array([10, 20, 30]))
    assert np.allclose(x[0], np.log1p([2, 0, 1])) and unseen[0] == 1
    rng = np.random.default_rng(1)
    index = np.array([1, 2, 3])
    model = fit_count_pca(count_stats(_sessions(rng, 40, index), index), index)
    model.thresholds_["org"] = 1e9
    scores = model.decision_function([np.array([1, 2]), np.array([1, 7])])
    assert np.isfinite(scores[0]) and np.isinf(scores[1])
    assert model.predict([np.array([1, 2]), np.array([1, 7])], "org").tolist() == [False, True]


def test_counts_of_many_sessions_at_once_are_those_of_each_on_its_own():
    """Empty sessions, repeated and unseen tokens: each row is its session's own count."""
    rng = np.random.default_rng(3)
    sessions = [rng.integers(0, 12, size=n) for n in rng.integers(0, 15, size=80)]
    sessions[5] = np.zeros(0, np.int64)
    index = np.array([1, 2, 3, 5, 8, 9])
    x, unseen = count_matrix(sessions, index)
    for row, tokens in enumerate(sessions):
        counts = np.array([np.sum(tokens == token) for token in index])
        assert x[row].tolist() == np.log1p(counts).tolist()
        assert unseen[row] == len(tokens) - counts.sum()
    assert unseen.dtype == np.int64
    empty_x, empty_unseen = count_matrix([np.zeros(0, np.int64)] * 2, index)
    assert not empty_x.any() and empty_unseen.tolist() == [0, 0]

"""The DeepLog model: windows, ranks, surprises, unseen events, the session-score rules."""

import numpy as np
import pytest
import torch

from fedsec.features.vocabulary import EOS, PAD, RESERVED, UNK, EventVocabulary
from fedsec.models.deeplog import (
    DeepLogDetector,
    DeepLogSpec,
    build_deeplog,
    index_ids,
    session_windows,
    sessions_ids,
    target_ranks,
    target_surprises,
    unique_rows,
)
from fedsec.training.params import get_params


def test_windows_are_left_padded_and_end_with_the_end_token():
    x, y, owner = session_windows([np.array([5, 6, 7]), np.array([9])], window=2)
    assert x.tolist() == [[PAD, PAD], [PAD, 5], [5, 6], [6, 7], [PAD, PAD], [PAD, 9]]
    assert y.tolist() == [5, 6, 7, EOS, 9, EOS]
    assert owner.tolist() == [0, 0, 0, 0, 1, 1]
    _, y_plain, _ = session_windows([np.array([5, 6])], window=2, end_token=False)
    assert y_plain.tolist() == [5, 6]


def one_session_at_a_time(sessions, window, end_token):
    """session_windows as it was written first: each session padded and cut on its own."""
    xs, ys, owners = [np.zeros((0, window), np.int64)], [np.zeros(0, np.int64)], [[]]
    for index, tokens in enumerate(sessions):
        padded = np.concatenate([[PAD] * window, tokens, [EOS] * end_token]).astype(np.int64)
        n = len(padded) - window
        xs.append(np.array([padded[i : i + window] for i in range(n)]).reshape(n, window))
        ys.append(padded[window:])
        owners.append([index] * n)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owners).astype(np.int64)


@pytest.mark.parametrize("end_token", [True, False])
def test_windows_of_many_sessions_at_once_are_those_of_each_on_its_own(end_token):
    """Empty sessions, sessions shorter and longer than the window, in any order."""
    rng = np.random.default_rng(0)
    sessions = [rng.integers(RESERVED, 40, size=n) for n in rng.integers(0, 9, size=60)]
    sessions[:3] = [np.zeros(0, np.int64)] * 3
    for window in (1, 3, 10):
        got = session_windows(sessions, window, end_token)
        expected = one_session_at_a_time(sessions, window, end_token)
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == np.int64 and a.tolist() == b.tolist()
    empty = session_windows([np.zeros(0, np.int64)] * 2, 3, end_token)
    assert [a.shape for a in empty] == [(2, 3), (2,), (2,)] if end_token else [(0, 3), (0,), (0,)]


def test_ranks_match_a_brute_force_count_over_candidates():
    spec = DeepLogSpec(vocab=12, window=3, embedding=4, hidden=8, layers=1)
    module = build_deeplog(spec, torch.Generator().manual_seed(1)).eval()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 12, size=(40, 3))
    x = np.concatenate([x, x[:5]])  # repeated pairs are scored once
    y = rng.integers(RESERVED, 12, size=45)
    y[40:] = y[:5]
    candidates = np.arange(RESERVED, 12)
    ranks = target_ranks(module, x, y, candidates, batch=7)
    with torch.no_grad():
        logits = module(torch.from_numpy(x)).numpy()[:, candidates]
    target = logits[np.arange(45), y - RESERVED]
    assert ranks.tolist() == (logits > target[:, None]).sum(axis=1).tolist()


def test_surprises_are_the_targets_negative_log_softmax_over_candidates():
    spec = DeepLogSpec(vocab=12, window=3, embedding=4, hidden=8, layers=1)
    module = build_deeplog(spec, torch.Generator().manual_seed(2)).eval()
    rng = np.random.default_rng(1)
    x = rng.integers(0, 12, size=(30, 3))
    y = rng.integers(RESERVED, 12, size=30)
    candidates = np.arange(RESERVED, 12)
    surprises = target_surprises(module, x, y, candidates, batch=4)
    with torch.no_grad():
        logits = module(torch.from_numpy(x)).double().numpy()[:, candidates]
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    s = -log_p[np.arange(30), y - RESERVED]
    assert surprises == pytest.approx(s / (1 + s), abs=1e-9)
    ranks = target_ranks(module, x, y, candidates)
    same_window = (x == x[0]).all(axis=1)  # for one window, a worse rank is a larger surprise
    order = np.argsort(ranks[same_window])
    assert np.all(np.diff(surprises[same_window][order]) >= 0)


def _detector(index, window=2):
    spec = DeepLogSpec(vocab=RESERVED + len(index), window=window, embedding=4, hidden=8, layers=1)
    params = get_params(build_deeplog(spec, torch.Generator().manual_seed(0)))
    model = DeepLogDetector(spec, EventVocabulary(), np.asarray(index)).set_weights(params)
    model.top_k_ = {"*": 2}
    return model


def test_unseen_events_rank_last_and_flag_the_session():
    model = _detector([100, 200, 300])
    ranks = model.event_ranks([np.array([100, 999, 200]), np.array([300])])
    assert len(ranks[0]) == 4 and len(ranks[1]) == 2
    assert ranks[0][1] == model.unseen_rank == 4  # 3 known tokens + the end of session
    assert ranks[0].max() == model.decision_function([np.array([100, 999, 200])])[0]
    assert model.predict([np.array([100, 999, 200])])[0]


def test_detector_rejects_a_vocabulary_that_does_not_match_the_network():
    spec = DeepLogSpec(vocab=10, window=2, embedding=4, hidden=8, layers=1)
    model = DeepLogDetector(spec, EventVocabulary(), np.arange(3))
    with pytest.raises(ValueError, match="10 outputs for 3 known tokens"):
        model.initialize(torch.Generator().manual_seed(0))


def test_one_rare_event_in_a_long_trace_flags_max_rank_but_not_the_mean_log_rank():
    """The long-trace failure: one event outside the top-k in thousands flags a whole session
    under max-rank; the mean log-rank scores it as the mostly expected session it is."""
    model = _detector([100, 200, 300])  # unseen_rank 4, top_k 2
    long_trace = np.zeros(1201, np.int64)
    long_trace[600] = model.unseen_rank  # one never-seen event among 1,200 first choices
    short_odd = np.array([1, 2, 3, 1, 2])  # every event a second-or-worse choice
    assert model.flag_scores(model.scores_of_ranks([long_trace, short_odd]), None).tolist() == [
        True,
        True,
    ]
    model.score = "mean-log-rank"
    model.thresholds_ = {"*": 0.3}
    scores = model.scores_of_ranks([long_trace, short_odd])
    assert scores[0] == pytest.approx(1 / 1201)
    assert scores[1] == pytest.approx(np.mean(np.log1p(short_odd)) / np.log1p(4))
    assert model.flag_scores(scores, None).tolist() == [False, True]
    assert model.predict([np.array([999] * 50)])[0]  # every event never seen: score 1


def test_max_surprise_is_the_largest_surprise_and_never_seen_events_score_one():
    model = _detector([100, 200, 300])
    model.score = "max-surprise"
    model.thresholds_ = {"*": 0.9}
    sessions = [np.array([100, 200, 300]), np.array([100, 999]), np.zeros(0, np.int64)]
    surprises = model.event_surprises(sessions)
    assert [len(s) for s in surprises] == [4, 3, 1]  # every event, and the end of session
    assert surprises[1][1] == 1.0 and (surprises[0] < 1).all()
    scores = model.decision_function(sessions)
    assert scores.tolist() == [s.max() for s in surprises]
    ranks, together = model.event_ranks_and_surprises(sessions)  # one pass, the same values
    assert [r.tolist() for r in ranks] == [r.tolist() for r in model.event_ranks(sessions)]
    assert [t.tolist() for t in together] == [s.tolist() for s in surprises]
    assert model.predict(sessions)[1]  # a never-seen event: flagged above any threshold < 1
    with pytest.raises(ValueError, match="max-surprise scores sessions, not ranks"):
        model.scores_of_ranks(model.event_ranks(sessions))


def test_an_unknown_session_score_is_refused():
    spec = DeepLogSpec(vocab=RESERVED + 3, window=2, embedding=4, hidden=8, layers=1)
    with pytest.raises(ValueError, match="unknown session score 'median'"):
        DeepLogDetector(spec, EventVocabulary(), np.arange(3), score="median")


def test_unique_rows_are_numpys_in_its_order():
    """The distinct (window, target) pairs are scored in batches in this order: the same
    order as before keeps every batch, hence every score, the same."""
    rng = np.random.default_rng(2)
    rows = rng.integers(-2, 6, size=(3000, 5)).astype(np.int64)
    rows[:, :2] = 0
    pairs, inverse = unique_rows(rows)
    expected, expected_inverse = np.unique(rows, axis=0, return_inverse=True)
    assert pairs.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.ravel().tolist()
    assert (pairs[inverse] == rows).all()


def test_the_ids_of_many_sessions_are_those_of_each_on_its_own():
    index = np.array([3, 8, 2**62])
    sessions = [np.array([8, 5, 2**62]), np.zeros(0, np.int64), np.array([3, 3, 9])]
    got = sessions_ids(index, sessions)
    assert [g.tolist() for g in got] == [index_ids(index, s).tolist() for s in sessions]
    assert got[0].tolist() == [RESERVED + 1, UNK, RESERVED + 2] and sessions_ids(index, []) == []

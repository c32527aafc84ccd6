"""A session's score from its events, and the calibration of the threshold that flags it."""

import numpy as np
import pytest

from fedsec.models.session_scores import (
    SURPRISE_BINS,
    calibrate_top_k,
    surprise_histogram,
    threshold_of_histogram,
    whole_sequence_scores,
)


def test_calibrated_top_k_flags_at_most_the_target_share_of_normal_sessions():
    scores = np.array([0] * 90 + [1] * 5 + [3] * 3 + [6, 9])
    k = calibrate_top_k(scores, target_fpr=0.02, max_k=12)
    assert k == 4 and np.mean(scores >= k) <= 0.02 < np.mean(scores >= k - 1)
    assert calibrate_top_k(scores, 0.5, max_k=12) == 1
    # sessions with unseen events (score >= max_k) are flagged anyway and use up the budget
    with_unseen = np.concatenate([scores, [12]])
    assert calibrate_top_k(with_unseen, 0.02, max_k=12) == 7
    assert calibrate_top_k(np.concatenate([scores, [12, 12, 12]]), 0.02, max_k=12) == 12
    assert calibrate_top_k(np.zeros(0), 0.01, max_k=12) == 12


def test_a_pooled_surprise_threshold_is_the_smallest_bin_edge_within_the_target():
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.uniform(0.2, 0.9, 995), [0.0, 0.95, 0.97, 1.0, 1.0]])
    counts = surprise_histogram(scores)
    assert counts.sum() == len(scores) and len(counts) == SURPRISE_BINS
    edges = np.arange(1, SURPRISE_BINS + 1) / SURPRISE_BINS  # bin i holds (i/B, (i+1)/B]
    assert all(counts[i] == np.sum((scores > e - 1 / SURPRISE_BINS) & (scores <= e))
               for i, e in enumerate(edges) if i)  # fmt: skip
    threshold = threshold_of_histogram(counts, 0.01)
    flagged = np.mean(scores > threshold)
    assert flagged <= 0.01 < np.mean(scores > threshold - 1 / SURPRISE_BINS)
    assert threshold_of_histogram(counts, 0.0) == 1.0  # sessions never seen score 1: none above


def test_whole_sequence_scores_are_length_independent_log_ranks():
    unseen = 15  # log1p(15) = log(16): ranks 0, 3, 15 normalise to 0, 0.5, 1
    ranks = [np.array([0, 0, 3, 15]), np.array([3] * 1000), np.zeros(0, np.int64)]
    mean = whole_sequence_scores(ranks, unseen, "mean-log-rank")
    assert mean.tolist() == pytest.approx([0.375, 0.5, 0.0])
    high = whole_sequence_scores(ranks, unseen, "quantile-log-rank", quantile=0.5)
    assert high.tolist() == pytest.approx([0.25, 0.5, 0.0])

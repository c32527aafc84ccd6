"""How far a candidate model falls below a reference model on the same rows, and how sure.

A paired bootstrap (Efron and Tibshirani 1993, ch. 16; in model comparison: Koehn 2004,
"Statistical significance tests for machine translation evaluation", and Berg-Kirkpatrick et
al. 2012): the validation rows are resampled with replacement, both models' metric computed on
each resample, and the fall ``reference - candidate`` collected. The ``1 - confidence``
quantile of those falls is a one-sided lower confidence bound of the true fall. Pairing both
models on the same resampled rows cancels the rows both get right or both get wrong, so the
bound is as tight as the models' disagreements allow. The bootstrap (not a binomial bound)
because macro-F1 is not a mean over rows; for the detection rate it agrees with one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import BENIGN, family_order


@dataclass(frozen=True)
class Fall:
    """The fall measured on the validation rows and its lower confidence bound."""

    point: float
    lower: float


def metric_value(metric: str, truth: np.ndarray, predicted: np.ndarray) -> float | None:
    """The metric on all rows (None: no rows it can be measured on)."""
    weights = np.ones((1, len(truth)))
    values = _resampled(metric, truth, predicted, weights)
    return None if values is None else float(values[0])


def paired_fall(
    metric: str,
    truth: np.ndarray,
    reference: np.ndarray,
    candidate: np.ndarray,
    confidence: float,
    resamples: int,
    rng: np.random.Generator,
) -> Fall | None:
    """``reference - candidate`` on these rows and its one-sided ``confidence`` lower bound
    (None when the metric cannot be measured on these rows)."""
    if not (len(truth) == len(reference) == len(candidate)):
        raise ValueError("truth, reference and candidate predictions differ in length")
    kinds, counts = _row_kinds(truth, reference, candidate)
    truth, reference, candidate = kinds
    whole = counts[np.newaxis, :].astype(float)
    ref, cand = (_resampled(metric, truth, p, whole) for p in (reference, candidate))
    if ref is None or cand is None:
        return None
    weights = rng.multinomial(int(counts.sum()), counts / counts.sum(), size=resamples)
    falls = _resampled(metric, truth, reference, weights) - _resampled(
        metric, truth, candidate, weights
    )
    lower = float(np.quantile(falls, 1.0 - confidence))
    return Fall(float(ref[0] - cand[0]), lower)


def _row_kinds(
    truth: np.ndarray, reference: np.ndarray, candidate: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The distinct (truth, reference, candidate) triples and how many rows each has.

    Resampling rows with replacement draws these counts from a multinomial over the triples,
    so the bootstrap runs on a handful of kinds instead of every row (same distribution)."""
    rows = pd.DataFrame({"t": truth, "r": reference, "c": candidate}, dtype=object)
    counted = rows.value_counts(sort=False).sort_index()
    index = counted.index
    columns = tuple(np.asarray(index.get_level_values(i), dtype=object) for i in range(3))
    return columns, counted.to_numpy(dtype=np.int64)


def _resampled(
    metric: str, truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray
) -> np.ndarray | None:
    """The metric on each resample; ``weights`` (resamples x rows) counts each row's copies."""
    if metric == "detection_rate":
        return _detection_rate(truth, predicted, weights)
    if metric == "macro_f1":
        return _macro_f1(truth, predicted, weights)
    raise ValueError(f"unknown gate metric {metric!r}")


def _detection_rate(
    truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray
) -> np.ndarray | None:
    attack = truth != BENIGN
    if not attack.any():
        return None
    caught = (attack & (predicted != BENIGN)).astype(float)
    counted = weights @ attack.astype(float)
    return (weights @ caught) / np.maximum(counted, 1.0)


def _macro_f1(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """Macro-F1 over the families present in ``truth`` (scikit-learn's, ``zero_division=0``)."""
    if len(truth) == 0:
        return None
    scores = []
    for label in family_order(truth):
        is_true, is_pred = truth == label, predicted == label
        tp = weights @ (is_true & is_pred).astype(float)
        fp = weights @ (~is_true & is_pred).astype(float)
        fn = weights @ (is_true & ~is_pred).astype(float)
        denominator = 2 * tp + fp + fn
        scores.append(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-300), 0.0))
    return np.mean(scores, axis=0)

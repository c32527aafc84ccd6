"""Preprocessing statistics as histograms: one bounded contribution per record and column.

What differential privacy needs of a statistic is a bound on what one record can change. The
moments of :mod:`fedsec.features.moments` have none (a byte count can be 1e12), so for a release
with DP noise each organization summarizes a numeric column as a histogram over fixed, public
bins (:data:`BIN_WIDTH` wide on a signed-log scale, values beyond the outer bins clipped into
them) plus one bin of missing values, and counts its rows per family of the fixed
taxonomy. A record adds exactly 1 to one bin of every column and 1 to one family, so the whole
vector moves by ``sqrt(columns + 1)`` in L2 norm when a record is added or removed
(:func:`sensitivity`). Histograms add over organizations like the other summaries.

From the summed (noisy) histogram, :func:`from_histograms` recovers what preprocessing is fitted
from: bins below a noise threshold are taken as empty, and the count, mean, centered power sums
(raw and log1p) and the heavy-tail counts come from the bins' centres. A bin edge at
``TAIL_FLOOR`` keeps the "above 10" count of the heavy-tail rule exact up to values of exactly
10.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from fedsec.data.flows import FeatureFrame
from fedsec.data.taxonomy import FAMILIES
from fedsec.features.moments import TAIL_FLOOR, ColumnStats, FeatureStats, signed_log1p
from fedsec.features.summaries import family_counts

#: Values are binned on the scale ``signed_log1p(x / UNIT)``: fine near 0 (bins below ``UNIT``
#: are about ``UNIT / 4`` wide), relative (about ±13 %) above it.
UNIT = 1e-3
#: Bin width on that scale: ``TAIL_FLOOR`` is a bin edge (36.5 widths).
BIN_WIDTH = math.log1p(TAIL_FLOOR / UNIT) / 36.5
#: Bins each side of 0: the outer ones hold everything beyond ``±(OUTER + 0.5)`` widths
#: (about ``±1.4e12``).
OUTER = 137
#: Value bins per column, then one bin of missing values.
VALUE_BINS = 2 * OUTER + 1
COLUMN_BINS = VALUE_BINS + 1
#: The raw value each bin stands for, and its signed log1p.
_SCALED = np.arange(-OUTER, OUTER + 1) * BIN_WIDTH
RAW_CENTRES = np.sign(_SCALED) * np.expm1(np.abs(_SCALED)) * UNIT
LOG_CENTRES = signed_log1p(RAW_CENTRES)
_LARGE_FROM = OUTER + 37  # first bin whose values are all >= TAIL_FLOOR
#: Adjacent value bins judged together against the noise floor (2 on the log scale).
GROUP = 8


def histogram_length(columns: list[str]) -> int:
    return len(FAMILIES) + COLUMN_BINS * len(columns)


def sensitivity(columns: list[str]) -> float:
    """L2 norm by which one record moves :func:`histogram_vector` (one bin per column and one
    family)."""
    return math.sqrt(len(columns) + 1)


def histogram_vector(
    features: FeatureFrame, families: np.ndarray, columns: list[str]
) -> np.ndarray:
    """One organization's rows per family, then per column its value bins and missing bin.

    A column the organization lacks counts all its rows as missing."""
    per_family = family_counts(features, families, "histograms")
    out = np.zeros(histogram_length(columns), dtype=np.float64)
    out[: len(FAMILIES)] = [per_family.get(f, 0) for f in FAMILIES]
    for j, column in enumerate(columns):
        start = len(FAMILIES) + j * COLUMN_BINS
        if column not in features.numeric:
            out[start + VALUE_BINS] = len(features)
            continue
        values = features.frame[column].to_numpy(dtype=float)
        present = np.isfinite(values)
        scaled = signed_log1p(values[present] / UNIT)
        index = np.clip(np.rint(scaled / BIN_WIDTH), -OUTER, OUTER)
        out[start : start + VALUE_BINS] = np.bincount(
            index.astype(np.int64) + OUTER, minlength=VALUE_BINS
        )
        out[start + VALUE_BINS] = int((~present).sum())
    return out


def from_histograms(
    total: np.ndarray, columns: list[str], categorical: list[str], floor: float = 0.0
) -> tuple[FeatureStats, Counter]:
    """Feature summaries and rows per family from summed histograms.

    ``floor`` is the noise threshold: a count at or below it is taken as 0. Value bins are
    judged in groups of :data:`GROUP` (whose noise grows only as ``sqrt(GROUP)``, so a column
    spread thinly over many bins keeps its mass): a group above ``floor * sqrt(GROUP)`` is
    kept and its count shared among its bins in proportion to their positive counts."""
    total = np.asarray(total, dtype=np.float64)
    if total.shape != (histogram_length(columns),):
        raise ValueError(f"summed histograms have shape {total.shape}")
    held = np.where(total[: len(FAMILIES)] > floor, np.rint(total[: len(FAMILIES)]), 0.0)
    families = +Counter({f: int(v) for f, v in zip(FAMILIES, held, strict=True)})
    rows = sum(families.values())
    table = total[len(FAMILIES) :].reshape(len(columns), COLUMN_BINS)
    numeric = {}
    for j, column in enumerate(columns):
        numeric[column] = _column(_denoise(table[j, :VALUE_BINS], floor))
        missing = table[j, VALUE_BINS]
        numeric[column].missing = round(missing) if missing > floor else 0
    return FeatureStats(rows, numeric, list(categorical)), families


def _denoise(bins: np.ndarray, floor: float) -> np.ndarray:
    """Value bins with the groups under the noise floor emptied (see :func:`from_histograms`);
    a kept group's count goes to its bins above the floor, or if none is, to its positive
    ones."""
    if floor <= 0:
        return np.rint(np.maximum(bins, 0.0))
    padded = np.concatenate([bins, np.zeros(-len(bins) % GROUP)]).reshape(-1, GROUP)
    sums = padded.sum(axis=1, keepdims=True)
    clear = np.where(padded > floor, padded, 0.0)
    weights = np.where(clear.sum(axis=1, keepdims=True) > 0, clear, np.maximum(padded, 0.0))
    total = weights.sum(axis=1, keepdims=True)
    share = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 1.0 / GROUP)
    kept = np.where(sums > floor * math.sqrt(GROUP), share * sums, 0.0)
    return kept.ravel()[: len(bins)]


def _column(counts: np.ndarray) -> ColumnStats:
    n = round(float(counts.sum()))
    stats = ColumnStats(n=n)
    if n == 0:
        return stats
    stats.mean = float(counts @ RAW_CENTRES / n)
    d = RAW_CENTRES - stats.mean
    stats.m2 = float(counts @ d**2)
    stats.m3 = float(counts @ d**3)
    stats.log_mean = float(counts @ LOG_CENTRES / n)
    stats.log_m2 = float(counts @ (LOG_CENTRES - stats.log_mean) ** 2)
    stats.negative = round(float(counts[:OUTER].sum()))
    stats.large = round(float(counts[_LARGE_FROM:].sum()))
    return stats

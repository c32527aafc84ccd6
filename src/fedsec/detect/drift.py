"""A feature whose scored values sit far from what the model was trained on, across the whole
input: most often a unit mistake (milliseconds read as seconds, kilobytes as bytes), which
changes the alerts silently. The bundle's preprocessor keeps each numeric feature's training
mean and standard deviation (of log1p for heavy-tailed ones); over a strided sample of each
chunk's rows, the same transform's mean and the share of values beyond :data:`TAIL_SDS` training
standard deviations are compared with them at the end of the run.

A feature is said shifted when at least :data:`MIN_TAIL` of its values lie beyond that tail on
one side and its typical value (``expm1`` of the log1p mean) changed by a factor of
:data:`MIN_FACTOR` or more that way: both, as on real CIC-IDS2017 files of one family alone
either happens honestly (SSH-Patator's packets: 99% in the tail, ×11; DoS Hulk's byte rate
×418, none in the tail) while milliseconds read as seconds give 34-50% and ×60-104
(tests/detect/test_drift.py). A feature mostly zero in training (wide in log space: bytes of
scans) hides a unit mistake this way; a shift down of a log feature rarely reaches the tail."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedsec.data.mapping import Mapping
from fedsec.features.moments import signed_log1p
from fedsec.features.preprocess import NumericSpec, Preprocessor

#: Rows of each chunk sampled (evenly spaced): 2,048 of a 65,536-row chunk.
SAMPLE_ROWS = 2_048
#: Values a feature needs over the run before its shift is judged.
MIN_VALUES = 200
TAIL_SDS = 3.0
MIN_TAIL = 0.2
MIN_FACTOR = 30.0

#: A chunk's sample: per numeric feature, the sum of its (transformed) finite values, their
#: count, and how many lie above and below the training tails.
Sample = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class FeatureShift:
    """A feature whose scored values sit far from its training distribution."""

    feature: str
    tail: float  # the share of its values beyond the training tail on the shift's side
    factor: float  # the scored typical value over the training one
    column: str = ""  # the input's column (a mapped canonical field's source), if known
    scale: float = 1.0  # the mapping's factor from that column to the feature

    def describe(self) -> str:
        scaled = f" × {self.scale:g}" if self.scale != 1 else ""
        where = (
            f"input column {self.column!r}{scaled} (feature {self.feature})"
            if self.column and self.column != self.feature
            else f"input column {self.feature!r}"
            if self.column
            else f"feature {self.feature!r}"
        )
        side = "above" if self.factor >= 1 else "below"
        factor = self.factor if self.factor >= 1 else 1 / self.factor
        sign = "×" if self.factor >= 1 else "÷"
        return (
            f"{where}: {self.tail:.0%} of its values lie {TAIL_SDS:g} training standard "
            f"deviations {side} what the model was trained on (typical value {sign}{factor:,.0f})"
            ": a likely unit mistake (milliseconds read as seconds, kilobytes as bytes?); check "
            "the column's unit and the mapping's scale, the scores may mean little"
        )


class UnitDrift:
    """Sums of each numeric feature's transformed values over sampled rows, chunk by chunk."""

    def __init__(self, preprocessor: Preprocessor) -> None:
        self.specs: list[NumericSpec] = list(preprocessor.numeric)
        self.sums = np.zeros(len(self.specs))
        self.counts = np.zeros(len(self.specs), dtype=np.int64)
        self.above = np.zeros(len(self.specs), dtype=np.int64)
        self.below = np.zeros(len(self.specs), dtype=np.int64)

    def sample(self, frame: pd.DataFrame) -> Sample:
        """The sums and counts of a chunk's sampled rows (reads ``frame`` only)."""
        rows = frame.iloc[:: max(1, len(frame) // SAMPLE_ROWS)]
        width = len(self.specs)
        sums = np.zeros(width)
        counts, above, below = (np.zeros(width, dtype=np.int64) for _ in range(3))
        for position, spec in enumerate(self.specs):
            if spec.name not in rows:
                continue
            values = rows[spec.name].to_numpy(dtype=float, na_value=np.nan)
            values = values[np.isfinite(values)]
            if spec.log:
                values = signed_log1p(values)
            sums[position], counts[position] = values.sum(), len(values)
            reach = TAIL_SDS * spec.std
            above[position] = np.count_nonzero(values > spec.mean + reach)
            below[position] = np.count_nonzero(values < spec.mean - reach)
        return sums, counts, above, below

    def add(self, sample: Sample) -> None:
        self.sums += sample[0]
        self.counts += sample[1]
        self.above += sample[2]
        self.below += sample[3]

    def absorb(self, other: UnitDrift) -> None:
        self.add((other.sums, other.counts, other.above, other.below))

    def shifts(self) -> list[FeatureShift]:
        """The features shifted far enough to say, largest share in the tail first."""
        found = []
        for position, spec in enumerate(self.specs):
            count = self.counts[position]
            if count < MIN_VALUES:
                continue
            factor = _factor(spec, self.sums[position] / count)
            tail = (self.above if factor >= 1 else self.below)[position] / count
            if tail >= MIN_TAIL and not 1 / MIN_FACTOR < factor < MIN_FACTOR:
                found.append(FeatureShift(spec.name, float(tail), factor))
        return sorted(found, key=lambda s: -s.tail)


def _factor(spec: NumericSpec, mean: float) -> float:
    """The scored typical value over the training one (1.0: no unit story: a sign change)."""
    if spec.log:
        scored, trained = math.expm1(mean), math.expm1(spec.mean)
    else:
        scored, trained = mean, spec.mean
    if scored <= 0 or trained <= 0:
        return 1.0
    return scored / trained


def name_columns(shifts: list[FeatureShift], view: str, mapping: Mapping | None) -> None:
    """Each shift's input column: the feature itself (native view), or the column a mapping
    fills a canonical field from."""
    for shift in shifts:
        source = None if mapping is None else mapping.canonical_column(shift.feature)
        if view == "native":
            shift.column = shift.feature
        elif source is not None:
            shift.column, shift.scale = source.column, source.scale

"""Rows with an input beyond the training range, reported, never rescored.

A numeric input ``clip`` standard deviations (20 by default; log scale for counts) or more from
the mean of what the federation trained on is clipped to that edge. There a network
extrapolates and its verdict means nothing: a flow claiming 1e308 bytes in 2.2 s, clipped on
three inputs, lay in a corner the model called benign by 18 nats, so ``1 - P(benign)`` rounded
to exactly 0.0 in float32 and it could not alert even at ``--threshold 0``. No real flow gets
there (20 sd above the demo's bytes is ~1e23 bytes): it is a broken sensor or forged counters.
Scores stay as they are; the run's summary counts such rows and names the first, so an analyst
can look. A range guard's clip (below the default 20, docs/robustness.md) is an edge ordinary
flows reach on purpose: nothing is reported for such a bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedsec.core.standard_streams import STANDARD_INPUT_NAME
from fedsec.data.flows import FlowTable
from fedsec.features.preprocess import CLIP, FALLBACK_STD, Preprocessor


@dataclass
class OutOfRange:
    """How many rows had an input at the clip, and the first of them in words."""

    rows: int = 0
    first: str | None = None

    def add(self, other: OutOfRange) -> None:
        """``other``'s rows, which came after these."""
        self.rows += other.rows
        self.first = self.first or other.first

    def notice(self, clip: float) -> str | None:
        """What the summary says of them (None: no row)."""
        if not self.rows:
            return None
        return (
            f"{self.rows:,} row(s) held a value {clip:g} or more standard deviations from the "
            f"training data's mean (first: {self.first}): clipped to that edge, where the "
            "model's score is extrapolation, not evidence; check the sensor, or forged "
            "counters"
        )


def out_of_range(
    pre: Preprocessor, x: np.ndarray, frame: pd.DataFrame, table: FlowTable
) -> OutOfRange:
    """The rows of ``table`` whose preprocessed inputs ``x`` (from ``frame``) reach the clip
    (none under a range guard's lower clip)."""
    if pre.clip < CLIP:
        return OutOfRange()
    edge = pre.at_edge(x) & _scaled(pre)
    rows = np.flatnonzero(edge.any(axis=1))
    if not len(rows):
        return OutOfRange()
    row = int(rows[0])
    name = pre.numeric[int(np.flatnonzero(edge[row])[0])].name
    where = str(table.source_file[row]) or STANDARD_INPUT_NAME
    value = frame[name].iloc[row]
    first = f"{name} = {value:g} in data row {int(table.source_row[row])} of {where}"
    return OutOfRange(len(rows), first)


def _scaled(pre: Preprocessor) -> np.ndarray:
    """Which numeric inputs have a training spread to be far from: a column constant in
    training (``idle_mean`` all 0 in short flows) has the fallback scale 1, where an honest
    25 would read as "25 standard deviations" (a review's false notice)."""
    return np.array([spec.std != FALLBACK_STD for spec in pre.numeric], dtype=bool)

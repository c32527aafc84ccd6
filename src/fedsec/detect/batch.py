"""A chunk's flow alerts kept as columns (the flagged rows' positions, families, scores, top
families and, for the typed formats, the reasons as arrays), turned into alert text column by
column; :meth:`FlowAlerts.records` gives the same alerts as one dict each, the form the text is
checked against (``tests/detect/test_alert_text.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fedsec.data.flows import FlowTable
from fedsec.data.taxonomy import UNLABELED
from fedsec.detect.ecs import RECORD_FIELDS
from fedsec.detect.fingerprints import add_fingerprints
from fedsec.detect.records import add_network, context_records


@dataclass(frozen=True)
class Explanation:
    """What the typed formats add to a chunk's alerts: the threshold applied (rounded; None:
    arg-max) and each alert's reasons as arrays: ``order[i]`` the indexes in ``names`` of its
    input columns, largest contribution first (negative: not listed, only after those listed),
    ``amounts[i]`` their contributions, the
    values read from ``frame`` (the model's input) at the alert's row."""

    threshold: float | None
    names: list[str]
    order: np.ndarray
    amounts: np.ndarray
    frame: pd.DataFrame

    def take(self, part: slice) -> Explanation:
        return replace(self, order=self.order[part], amounts=self.amounts[part])


@dataclass
class FlowAlerts:
    """The alerts of one table: one per row in ``rows`` (positions in ``table``; ``offset``:
    rows scored before it), ``families`` and ``scores`` theirs, ``top`` the indexes in
    ``classes`` of their three likeliest families and ``chances`` those probabilities."""

    table: FlowTable
    rows: np.ndarray
    offset: int
    families: np.ndarray
    scores: np.ndarray
    classes: list[str]
    top: np.ndarray
    chances: np.ndarray
    explanation: Explanation | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, part: slice) -> FlowAlerts:
        """The alerts ``part`` (a slice) of these."""
        if not isinstance(part, slice):
            raise TypeError("flow alerts are sliced, not indexed; use records()")
        explained = None if self.explanation is None else self.explanation.take(part)
        return replace(
            self,
            rows=self.rows[part],
            families=self.families[part],
            scores=self.scores[part],
            top=self.top[part],
            chances=self.chances[part],
            explanation=explained,
        )

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records())

    @property
    def regular(self) -> bool:
        """Whether the column-wise text applies: no context column takes the name of a field
        the record sets itself (a mapped input may name its columns anything), and no family
        is ``anomaly`` (whose confidence ECS reads from a threshold)."""
        names = list(self.table.context.columns)
        if not all(isinstance(n, str) for n in names) or RECORD_FIELDS.intersection(names):
            return False
        return "anomaly" not in set(self.families.tolist())

    def records(self) -> list[dict]:
        """One dict per alert: its context, family, score, top families, the input's label and,
        when explained, the threshold, reasons, transport and service."""
        table, rows = self.table, self.rows
        records = context_records(table, rows, self.offset)
        names = np.asarray(self.classes, dtype=object)[self.top].tolist()
        labelled = (table.family[rows] != UNLABELED).tolist()
        for record, family, score, top, chances, has_label, label in zip(
            records,
            self.families.tolist(),
            self.scores.tolist(),
            names,
            self.chances.tolist(),
            labelled,
            table.label[rows].tolist(),
            strict=True,
        ):
            record["family"] = str(family)
            record["score"] = round(score, 6)
            record["top_families"] = {n: round(c, 4) for n, c in zip(top, chances, strict=True)}
            if has_label:
                record["dataset_label"] = str(label)
        if self.explanation is not None:
            self._explain(records, self.explanation)
        return records

    def _explain(self, records: list[dict], why: Explanation) -> None:
        values = reason_values(why, self.rows)
        amounts = why.amounts.tolist()
        for i, (record, columns) in enumerate(zip(records, why.order.tolist(), strict=True)):
            record["threshold"] = why.threshold
            record["reasons"] = [
                {"feature": why.names[c], "contribution": round(a, 6), "value": values[c][i]}
                for c, a in zip(columns, amounts[i], strict=True)
                if c >= 0
            ]
        add_network(records, self.table, self.rows)
        add_fingerprints(records, self.table, self.rows)


def reason_values(why: Explanation, rows: np.ndarray) -> dict[int, list[object]]:
    """Per input column named in any alert's reasons (its index in ``why.names``), the rows'
    values as Python objects (missing: None)."""
    out: dict[int, list[object]] = {}
    for c in np.unique(why.order[why.order >= 0]).tolist():
        name = why.names[c]
        if name not in why.frame.columns:
            out[c] = [None] * len(rows)
            continue
        column = why.frame[name].iloc[rows]
        missing = column.isna().to_numpy()
        values = column.astype(object).to_numpy().tolist()
        out[c] = [None if gone else v for v, gone in zip(values, missing, strict=True)]
    return out

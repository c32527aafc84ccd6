"""A chunk's alerts' ``fedsec.reasons`` as ECS writes them (``_typed_reason``: each reason's
feature, contribution and the row's value as text), laid out as slots of the chunk's lines
(:mod:`fedsec.detect.line_slots`): the contributions and a float column's values written by
Arrow, other values once per distinct value, each read only where a reason names its column."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as quote

import numpy as np
import pandas as pd

from fedsec.detect.arrow_text import json_float
from fedsec.detect.batch import Explanation
from fedsec.detect.column_values import python_round
from fedsec.detect.line_slots import EMPTY, Slots


def reason_slots(slots: Slots, why: Explanation, rows: np.ndarray) -> None:
    """Each line's reasons: a JSON array of ``{"feature", "contribution"[, "value"]}`` (the
    listed ones: a negative column index is none, and only follows listed ones)."""
    width = why.order.shape[1]
    heads = [f'{{"feature": {quote(name)}, "contribution": ' for name in why.names]
    first, later = slots.pool(heads), slots.pool([", " + h for h in heads])
    amounts, whole = slots.numbers(python_round(why.amounts, 6), json_float)
    whole = whole.reshape(-1, max(width, 1))
    values, quoted, dotted = _values(slots, why, rows)
    slots.text("[")
    for j in range(width):
        listed = why.order[:, j] >= 0
        slots.add((later if j else first) + why.order[:, j].astype(np.int64), listed)
        slots.add(amounts.reshape(-1, width)[:, j], listed)
        here, dot = quoted[:, j], whole[:, j] & listed
        opening = [(dot & here, '.0, "value": "'), (dot, ".0"), (here, ', "value": "')]
        slots.choice(opening)
        slots.add(values[:, j])
        slots.choice([(~listed, ""), (dotted[:, j], '.0"}'), (here, '"}')], "}")
    slots.text("]")


def _values(
    slots: Slots, why: Explanation, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each reason's value: its pool index (empty: none), whether it is a float's text
    (written between quotes; other values' texts hold their own ``, "value": ...``), and
    whether that float's text needs its ``.0``."""
    order = why.order.ravel()
    width = why.order.shape[1]
    values = np.full(len(order), EMPTY, dtype=np.int64)
    quoted = np.zeros(len(order), dtype=bool)
    dotted = np.zeros(len(order), dtype=bool)
    for c in np.unique(order[order >= 0]).tolist():
        name = why.names[c]
        if name not in why.frame.columns:
            continue
        at = np.flatnonzero(order == c)
        column = why.frame[name]
        if column.dtype == np.float64:
            found = column.to_numpy()[rows[at // width]]
            known = ~np.isnan(found)
            index, whole = slots.numbers(found[known], float.__repr__)
            values[at[known]] = index
            quoted[at[known]] = True
            dotted[at[known]] = whole
            continue
        codes, distinct, missing = _distinct(column.iloc[rows[at // width]])
        start = slots.pool([f', "value": {quote(str(v))}' for v in distinct])
        values[at[~missing]] = start + codes[~missing]
    shape = why.order.shape
    return values.reshape(shape), quoted.reshape(shape), dotted.reshape(shape)


def _distinct(column: pd.Series) -> tuple[np.ndarray, list, np.ndarray]:
    """Each value's index among the distinct ones, the distinct values, and which are missing;
    by type and value (floats by their text, so that 0.0 and -0.0 stay apart)."""
    missing = column.isna().to_numpy()
    if isinstance(column.dtype, pd.StringDtype | pd.CategoricalDtype):
        codes, distinct = pd.factorize(column)
        return np.asarray(codes, dtype=np.int64), distinct.tolist(), missing
    found: dict = {}
    distinct: list = []
    values = column.astype(object).to_numpy().tolist()
    codes = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        key = (float, repr(value)) if type(value) is float else (type(value), value)
        code = found.setdefault(key, len(distinct))
        if code == len(distinct):
            distinct.append(value)
        codes[i] = code
    return codes, distinct, missing

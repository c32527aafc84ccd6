"""The distinct rows of some columns of an Arrow table: what the Arrow readers compute once per
distinct value (a protocol, a label pair, a history) instead of once per row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Row keys are renumbered before a column's product could pass this (int64 would wrap, and
#: rows that differ would share a key).
KEY_LIMIT = 1 << 62


def distinct_rows(table: pa.Table, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's position among the distinct rows of ``columns`` (a missing value is a value
    of its own), and each distinct row's first row in ``table``, in order of first
    appearance. With no columns every row is the one distinct row. Arrow's hash encoding
    numbers the values in order of first appearance, without sorting."""
    key = np.zeros(table.num_rows, dtype=np.int64)
    for column in columns:
        encoded = pc.dictionary_encode(
            table.column(column).combine_chunks(), null_encoding="encode"
        )
        size = len(encoded.dictionary)
        if (int(key.max(initial=0)) + 1) * size >= KEY_LIMIT:
            key = np.unique(key, return_inverse=True)[1]
        key = key * size + encoded.indices.to_numpy().astype(np.int64)
    if len(columns) != 1:  # one column's codes are already its distinct rows
        key = pc.dictionary_encode(pa.array(key)).indices.to_numpy().astype(np.int64)
    # codes appear in increasing order: a row is a first where the running maximum rises
    first = np.flatnonzero(np.diff(np.maximum.accumulate(key), prepend=-1) > 0)
    return key, first

"""Distinct rows of Arrow columns: in order of first appearance, missing values a value of
their own, and no two rows merged by a key that overflowed."""

import pyarrow as pa

from fedsec.data.readers._distinct import distinct_rows


def test_rows_are_numbered_in_order_of_first_appearance_with_missing_values_their_own():
    raw = pa.table({"a": ["x", "y", "x", None, "y", None], "b": [1, 1, 1, 2, 2, 2]})
    rows, first = distinct_rows(raw, ["a", "b"])
    assert rows.tolist() == [0, 1, 0, 2, 3, 2] and first.tolist() == [0, 1, 3, 4]
    assert distinct_rows(raw, ["b"])[0].tolist() == [0, 0, 0, 1, 1, 1]
    assert [r.tolist() for r in distinct_rows(raw, [])] == [[0] * 6, [0]]


def test_distinct_rows_of_many_wide_columns_do_not_overflow():
    """Five columns, four of them of 2^16 distinct values: the combined row keys would pass
    2^64 and wrap, so that rows differing only in the first column would become one; every
    row stays its own distinct row."""
    rows = (1 << 16) + 1
    wide = [str(i % (1 << 16)) for i in range(rows)]  # the last row repeats the first
    raw = pa.table({"a": [str(i) for i in range(rows)], **dict.fromkeys("bcde", wide)})
    codes, first = distinct_rows(raw, list("abcde"))
    assert codes.tolist() == list(range(rows)) and first.tolist() == list(range(rows))

"""Reasons in the file's own words: a canonical feature a mapping reads from one column of the
file (``bwd_bytes = "BwdBytesTotal"``) is named in an alert's reasons by that column, with the
row's value there (its own unit, before the mapping's ``scale``), so the analyst finds it in
their data. Derived fields (``bytes_per_s``, ...), the service and a bitmask's flags are not
one column's and keep their canonical names; without a mapping nothing changes."""

from __future__ import annotations

import pandas as pd

from fedsec.data.flows import FlowTable


def file_names(table: FlowTable, view: str, names: list[str]) -> dict[str, str]:
    """Feature -> the file's column a reason names it by, for those of ``names`` (the input
    columns of a model of the canonical ``view``) read from one column the table still holds
    as read (a native feature)."""
    if view != "canonical":
        return {}
    taken = set(names)
    found = {
        feature: column
        for feature, column in table.feature_columns.items()
        if feature in taken and column in table.native.columns
    }
    # a column named as another input column that keeps its name would read as that one
    return {f: c for f, c in found.items() if c == f or c not in taken - set(found)}


def file_values(table: FlowTable, frame: pd.DataFrame, renamed: dict[str, str]) -> pd.DataFrame:
    """``frame`` (the model's input for ``table``) with each renamed feature replaced by the
    file's column it names, as the file gives it."""
    if not renamed:
        return frame
    kept = frame.drop(columns=list(renamed))
    own = table.native[list(dict.fromkeys(renamed.values()))].set_axis(frame.index)
    return pd.concat([kept, own], axis=1)

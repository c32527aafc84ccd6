"""A mapping's ``time_format``: the file's flow times read by the layout it declares (the form
of ``03/07/2017 12:06:50`` alone does not say which is the day), written as ISO 8601, so that
every later reader of the time (alerts in every format, hunts) reads them beyond doubt."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.time_text import cell_text


def formatted_times(column: pd.Series, layout: str, name: str, path: Path) -> pd.Series:
    """``column`` (indexed by data row, 0-based; ``name``: the file's name for it) read by
    ``layout``: ISO 8601 text, with the offset when the layout reads one; blanks stay missing.
    A value the layout does not read is an InputError naming the column and data row."""
    read: dict[str, str] = {}
    out = column.astype(object).where(column.notna(), None)
    for row, value in out.items():
        if value is None or not str(value).strip():
            out[row] = None
            continue
        text = cell_text(value)
        if text not in read:
            try:
                read[text] = datetime.strptime(text, layout).isoformat()
            except ValueError:
                raise InputError(
                    path,
                    f"column {name!r} holds {text[:40]!r}, which the mapping's time_format "
                    f"{layout!r} does not read (data row {int(row) + 1})",
                ) from None
        out[row] = read[text]
    return out

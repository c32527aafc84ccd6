"""A flow's time as its file states it, read only when that leaves no doubt: numbers (and
numeric text) are epoch seconds, milli-, micro- or nanoseconds by magnitude; text is read by
:mod:`fedsec.data.time_text`. Readers refuse a given time that is not one (the mapped reader:
every row of its ``timestamp`` column); alerts write it as UTC ISO 8601."""

from __future__ import annotations

import contextlib
import math
import re
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fedsec.data.time_text import text_time, time_doubt

#: Epoch magnitudes: below 1e11 seconds (until year 5138), then milli-, micro-, nanoseconds.
EPOCH_UNITS: tuple[tuple[float, float], ...] = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: ISO 8601 text in the years 1970-2099 (:data:`~fedsec.data.time_text.YEARS`) that pandas
#: reads in bulk (a value it does not read is read alone, as alerts read it).
_ISO = re.compile(
    r"(?:19[7-9]\d|20\d\d)-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?)?(?:Z|[+-]\d\d:?\d\d)?"
)


def iso_utc(moment: datetime) -> str:
    """``2017-07-07T18:56:33.850Z``: UTC, rounded to the millisecond (ECS ``date``), the ``Z``
    suffix."""
    rounded = moment + timedelta(microseconds=500)
    rounded -= timedelta(microseconds=rounded.microsecond % 1000)
    return rounded.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def utc_timestamp(value: object, naive_zone: tzinfo) -> str | None:
    """A context time as UTC ISO-8601, or None. Numbers (and numeric text) are epoch seconds,
    milli-, micro- or nanoseconds by magnitude; text is parsed, a time without a zone being in
    ``naive_zone``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    return _from_text(str(value).strip(), naive_zone)


def unreadable_time(value: object) -> bool:
    """Whether a context time is given (not None, not blank text) but is not a time."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    return utc_timestamp(value, UTC) is None  # whether text reads as a time: not by its zone


def time_refusal(value: object, row: object, column: str = "timestamp") -> str:
    """Why a row whose time is unreadable is refused (``column``: the file's name of its time
    column): an alert's ``@timestamp`` is its flow's own time, never an invented one, nor a
    guessed one."""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    why = time_doubt(str(value).strip()) if isinstance(value, str) else None
    return (
        f"column {column!r} holds {shown}, {why or 'not a time'} (data row {row}): a flow's "
        "time (its alert's @timestamp) is its own, never invented nor guessed; fix the value (or "
        "leave it empty for a flow without a time), or declare the file's layout in the "
        "mapping's time_format (docs/data.md)"
    )


def _from_epoch(number: float) -> str | None:
    """Counted in whole microseconds, so that 1709510796.63 s and 1709510796630 ms agree."""
    if not math.isfinite(number) or number < 0 or number >= 1e20:
        return None
    per_second = next((p for limit, p in EPOCH_UNITS if number < limit), 1e9)
    micros = round(number * (1e6 / per_second))
    return iso_utc(EPOCH + timedelta(microseconds=micros))


@lru_cache(maxsize=65_536)
def _from_text(text: str, naive_zone: tzinfo) -> str | None:
    """Parsed once per distinct text (a scan repeats the same second thousands of times);
    numeric text is an epoch time, other text a time only when its form leaves no doubt
    (:mod:`fedsec.data.time_text`)."""
    with contextlib.suppress(ValueError):
        return _from_epoch(float(text))
    moment = text_time(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    try:
        return iso_utc(moment)
    except (ValueError, OverflowError):
        return None


def first_unreadable_time(column: pd.Series) -> tuple[object, object] | None:
    """The index label and value of the first value of ``column`` that is given but is not a
    time (:func:`unreadable_time`), or None: numbers checked in numpy, ISO 8601 text by pandas,
    other text once per distinct value."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(~np.isnan(values) & ~((values >= 0) & (values < 1e20)))
        return (column.index[bad[0]], column.iloc[bad[0]]) if len(bad) else None
    text = column.dropna().astype(str).str.strip()
    text = text[text != ""]
    distinct = pd.unique(text.to_numpy(dtype=object))
    iso = pc.match_substring_regex(pa.array(distinct, pa.string()), f"^(?:{_ISO.pattern})$")
    iso = iso.to_numpy(zero_copy_only=False)
    read = np.zeros(len(distinct), dtype=bool)
    parsed = pd.to_datetime(pd.Series(distinct[iso]), format="ISO8601", errors="coerce", utc=True)
    read[iso] = parsed.notna().to_numpy()
    bad = {value for value in distinct[~read] if unreadable_time(value)}
    if not bad:
        return None
    first = text.index[text.isin(bad)][0]
    return first, column.loc[first]

"""Text times read only when their form leaves no doubt, as a SIEM's ingest does: ISO 8601 /
RFC 3339 (with or without an offset or ``Z``), a year-first numeric date, or a date whose month
is named (``03-Jul-2017 12:06:50``, RFC 2822). A time with no date (``12:06:50``), no
four-digit year (syslog's ``Jul 03 12:06:50``), a year outside :data:`YEARS`, or a numeric date
whose day and month order the text does not fix (``03/07/2017``: 3 July or March 7?) is not
read: its flow's alert would carry an invented or a wrong time. A mapping that knows its
files' layout declares it (``time_format``, docs/data.md)."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd

#: The years a flow's time may plausibly carry (text times; epoch numbers are read as ever).
YEARS = range(1970, 2100)
_YEAR_FIRST = re.compile(r"\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<!\d)\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?!\d)")
_YEAR = re.compile(r"(?<![\d.:])\d{4}(?![\d:])")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY = re.compile(r"(?<![\d:.])\d{1,2}(?![\d:])")
#: Whole numbers of these digit counts whose every value is a date are ``%Y%m%d`` (8) or
#: ``%Y%m%d%H%M%S`` (14), not epochs: as epoch seconds 8 digits fall in 1970-1973, and 14
#: digits, as milliseconds, after 2286.
_COMPACT_NUMBERS = {8: "%Y%m%d", 14: "%Y%m%d%H%M%S"}
_MONTH = re.compile(r"(?<![a-z])(" + "|".join(_MONTHS) + r")[a-z]*\.?(?![a-z])", re.IGNORECASE)


def cell_text(value: object) -> str:
    """A cell's text as its file wrote it: a whole number read as a float (a column with
    blanks) without the ``.0`` pandas adds (``20190425``, not ``20190425.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def text_time(text: str) -> datetime | None:
    """The time ``text`` states beyond doubt (naive when it names no zone), else None."""
    if time_doubt(text) is not None:
        return None
    return _parsed(text)


def time_doubt(text: str) -> str | None:
    """Why ``text`` is not read as a time (``no date``, ``no year``, ...), or None."""
    year_first = _YEAR_FIRST.match(text)
    if year_first is not None:
        moment = _parsed(text)
        if moment is None or (moment.month, moment.day) != tuple(map(int, year_first.groups()[1:])):
            return "not a time"
        return _year_doubt(moment)
    if _NUMERIC_DATE.search(text):
        return "a date whose day and month order is ambiguous (day first or month first?)"
    month = _MONTH.search(text)
    if month is None:
        return "a time without a date" if re.search(r"\d:\d\d", text) else "not a time"
    years = _YEAR.findall(text)
    if not years:
        return "a date without a year"
    if not _DAY.search(text):
        return "a date without a day"
    moment = _parsed(text)
    if moment is None or moment.year != int(years[0]):
        return "not a time"
    if moment.month != _MONTHS.index(month.group(1).lower()[:3]) + 1:
        return "not a time"
    return _year_doubt(moment)


def _year_doubt(moment: datetime) -> str | None:
    if moment.year not in YEARS:
        return f"a time in year {moment.year}, outside {YEARS.start}-{YEARS.stop - 1}"
    return None


def _parsed(text: str) -> datetime | None:
    """``text`` read by Python's ISO 8601 parser, else by pandas (dateutil); None if neither."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        pass
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError, TypeError):
        return None
    if stamp is pd.NaT:
        return None
    try:  # pandas reads some text (e.g. "\\1") as year 0, which no datetime holds
        return stamp.to_pydatetime()
    except (ValueError, OverflowError):
        return None


def compact_date_layout(values: pd.Series) -> str | None:
    """``%Y%m%d`` or ``%Y%m%d%H%M%S`` when every value is a whole number of 8 or 14 digits
    that the layout reads as a time in :data:`YEARS` (numbers the reader would otherwise take
    as epoch times in 1970-1973 or after 2286), else None; ``values`` numeric or text."""
    given = values.dropna()
    if not len(given) or pd.api.types.is_bool_dtype(given):
        return None
    if not pd.api.types.is_numeric_dtype(given):
        if not re.fullmatch(r"\d{8}|\d{14}", str(given.iloc[0]).strip()):
            return None
        given = pd.to_numeric(given.astype(str).str.strip(), errors="coerce")
    numbers = given.to_numpy(dtype=np.float64)
    if not np.isfinite(numbers).all():
        return None
    digits = {len(str(int(n))) for n in (np.nanmin(numbers), np.nanmax(numbers)) if n >= 0}
    layout = _COMPACT_NUMBERS.get(digits.pop()) if len(digits) == 1 else None
    if layout is None or not (numbers == np.round(numbers)).all():
        return None
    return layout if all(_dated(str(int(n)), layout) for n in pd.unique(numbers)) else None


def _dated(text: str, layout: str) -> bool:
    try:
        return datetime.strptime(text, layout).year in YEARS
    except ValueError:
        return False

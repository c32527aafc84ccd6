"""``fedsec inspect``'s flow time: the ``[roles] timestamp`` column it proposes is one the
mapped reader reads. Text the reader takes as it is (ISO 8601, epoch numbers:
:mod:`fedsec.data.flow_times`) needs nothing; other text gets the one common strptime layout
(``time_format``) that reads every value. A layout is never guessed: when a day-first and a
month-first layout both read every value (no day above 12), or none reads them, the column is
not proposed as the flow's time and the proposal's comments say why (and, when a layout only
gives the day, which column holds the time of day: a mapping reads one time column). Whole
numbers of 8 or 14 digits that are all dates (``20190425``) are read as such, not as epochs;
syslog's yearless time is never proposed (its year would be invented). Of several time-like
columns, the first the reader can read that carries the time of day is proposed (else the first
readable one, which gives the day only), and those passed over are named.

"Day only" is judged from what the reader reads, never from the name: a layout decides when
there is one (no hour field: ``%d-%b-%y``; one with ``%H`` or ``%I`` carries the time of day
even if every value is at midnight); values read as they are give the day only when none states
a clock (``2019-04-25``, not ``2019-04-25 00:00``) and every one reads as a midnight (epoch
seconds that are all whole days). The layout, or a stated clock, is the robust signal: a
sample of times that happen to fall at midnight does not make a time column a date."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pandas as pd

from fedsec.data.flow_times import first_unreadable_time, utc_timestamp
from fedsec.data.time_text import YEARS, cell_text, compact_date_layout, time_doubt

#: Common date layouts the reader does not take as they are (day-first and month-first both:
#: the values settle which), each with the common clocks after it.
DATES = (
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d %Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%m.%d.%Y",
    "%Y/%m/%d",
    "%Y-%m-%d",
)
CLOCKS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p")
#: Compact forms (``20190425``, ``20190425130102``, ``20190425T130102``), each digit count
#: fixed (:data:`_WIDTHS`). Logging's ``2019-04-25 13:01:02,123`` (log4j, Python) needs none:
#: the reader takes it as it is (ISO 8601's comma).
COMPACT = ("%Y%m%d", "%Y%m%d%H%M%S", "%Y%m%dT%H%M%S", "%Y%m%d %H:%M:%S")
#: Each date with each clock, then Apache's common log time, then the compact forms.
LAYOUTS = (*(date + clock for date in DATES for clock in CLOCKS), "%d/%b/%Y:%H:%M:%S %z", *COMPACT)
#: Syslog's time (``Apr 25 13:01:02``) gives no year: read, it would be an invented one.
SYSLOG = "%b %d %H:%M:%S"
SYSLOG_WHY = f"syslog's {SYSLOG}, which gives no year: the reader invents none"
_WIDTHS = {layout: len(datetime(2019, 4, 25, 13, 1, 2).strftime(layout)) for layout in COMPACT}
SAMPLE = 200  # distinct values every layout is tried on before the survivors read them all
_CLOCK_TEXT = re.compile(r"^\d{1,2}:\d\d(:\d\d(\.\d+)?)?$")
_STATED_CLOCK = re.compile(r"\d:\d\d")
MIDNIGHT = "T00:00:00.000Z"  # how :func:`utc_timestamp` ends a time at 00:00 UTC


@dataclass(frozen=True)
class TimeProposal:
    """The flow time proposed: ``column`` read by ``layout`` (None: as it is), or not
    ``usable``: ``why`` (no layout reads it) or ``readers`` (layouts that read it, day and
    month in either order); ``day_only``: it gives the day, not the time of day; ``clock``: the
    column holding the time of day a layout lacks; ``passed``: better-named candidates passed
    over (not usable, or giving the day only where it gives the time of day)."""

    column: str
    layout: str | None = None
    usable: bool = True
    example: str = ""
    why: str = ""
    readers: tuple[str, ...] = ()
    clock: str | None = None
    seconds: bool = True
    day_only: bool = False
    passed: tuple[TimeProposal, ...] = ()

    def warning(self) -> str | None:
        """What ``fedsec inspect`` says of the time on the console, if anything."""
        if self.passed and self.usable:
            names = ", ".join(repr(p.column) for p in self.passed)
            return (
                f"column {self.column!r} is proposed as the flow's time in place of {names}, "
                "which are not read as they are or give the day only (see the proposal)"
            )
        if not self.usable:
            return f"column {self.column!r} is not proposed as the flow's time (see the proposal)"
        if not self.day_only:
            return None
        if self.clock is None:
            return (
                f"column {self.column!r}, the flow's time, gives the day only: events within a "
                "day are not ordered (see the proposal)"
            )
        return (
            f"column {self.column!r}, the flow's time, gives the day only: the time of day is in "
            f"column {self.clock!r}, which a mapping does not join to it (see the proposal)"
        )


def choose_time(raw: pd.DataFrame, candidates: list[str]) -> TimeProposal | None:
    """The first of ``candidates`` (best first) the mapped reader can read as the flow's time
    with its time of day, naming those passed over (unreadable, or giving the day only); else
    the first readable one, which gives the day only; when none is readable, why the first is
    not (None: no candidate)."""
    passed: list[TimeProposal] = []
    day_only: TimeProposal | None = None
    for column in candidates:
        proposal = propose_time(raw, column)
        if proposal.usable and not proposal.day_only:
            return replace(proposal, passed=tuple(passed))
        if proposal.usable and day_only is None:
            day_only = replace(proposal, passed=tuple(passed))
        passed.append(proposal)
    if day_only is not None:
        return day_only
    return replace(passed[0], passed=tuple(passed[1:])) if passed else None


def propose_time(raw: pd.DataFrame, column: str) -> TimeProposal:
    """How the mapped reader can read ``raw[column]`` as the flow's time, if it can."""
    compact = compact_date_layout(raw[column])
    if compact is not None:
        return _proposed(raw, column, [compact], cell_text(raw[column].dropna().iloc[0]))
    found = first_unreadable_time(raw[column])
    if found is None:
        given = raw[column].dropna()
        example = cell_text(given.iloc[0]) if len(given) else ""
        day_only = _dates_only(given)
        clock = _clock_column(raw, column) if day_only else None
        return TimeProposal(column, example=example, clock=clock, day_only=day_only)
    example = str(found[1]).strip()
    texts = _distinct(raw[column])
    readers = _layouts_reading(texts)
    if not readers:
        why = SYSLOG_WHY if _reads_syslog(texts) else time_doubt(example) or "not a time"
        return TimeProposal(column, usable=False, example=example, why=why)
    if _ambiguous(readers, texts):
        return TimeProposal(column, usable=False, example=example, readers=tuple(readers))
    return _proposed(raw, column, readers, example)


def _proposed(raw: pd.DataFrame, column: str, readers: list[str], example: str) -> TimeProposal:
    """``column`` read by the first of ``readers``, with the column of the day's time when the
    layout gives the day only."""
    day_only = not _has_clock(readers[0])
    clock = _clock_column(raw, column) if day_only else None
    seconds = clock is None or bool(raw[clock].dropna().astype(str).str.count(":").max() == 2)
    return TimeProposal(
        column, readers[0], example=example, clock=clock, seconds=seconds, day_only=day_only
    )


def _dates_only(values: pd.Series) -> bool:
    """Whether times the reader reads as they are give the day only: none states a clock and
    each reads as a midnight (checked on every distinct value, stopping at the first that
    does not)."""
    distinct = pd.unique(values.dropna().to_numpy(dtype=object))
    if not len(distinct):
        return False
    for value in distinct:
        if isinstance(value, str) and _STATED_CLOCK.search(value):
            return False
        read = utc_timestamp(value, UTC)
        if read is None or not read.endswith(MIDNIGHT):
            return False
    return True


def time_lines(proposal: TimeProposal | None, quote: Callable[[str], str]) -> list[str]:
    """The proposal's top-level TOML lines for the flow's time (comments, ``time_format``),
    names and texts written by ``quote`` (a TOML basic string)."""
    if proposal is None:
        return []
    passed = [_passed_over(other, proposal, quote) for other in proposal.passed]
    lines = _comment(*passed) if passed else []
    if not proposal.usable:
        return _read_lines(proposal, quote) + lines
    return lines + _read_lines(proposal, quote)


def _passed_over(other: TimeProposal, chosen: TimeProposal, quote: Callable[[str], str]) -> str:
    """Why ``other``, a better-named candidate than ``chosen``, is not the flow's time."""
    column, example = quote(other.column), quote(other.example[:40])
    if other.usable:
        return (
            f"CHECK time: column {column} is passed over as [roles] timestamp: it gives the day "
            f"only ({_shown(other, quote)}); column {quote(chosen.column)}, which gives the time "
            "of day too, is read instead."
        )
    if other.readers:
        why = (
            f"its dates ({example}) read day first and month first alike (no day above 12 "
            f"settles it: {', '.join(quote(layout) for layout in other.readers)})"
        )
    else:
        why = f"it holds {example} ({other.why}), and no common layout reads every value"
    if not chosen.usable:
        return f"CHECK time: nor is column {column} proposed: {why}."
    return (
        f"CHECK time: column {column} is passed over as [roles] timestamp: {why}; column "
        f"{quote(chosen.column)} is read instead."
    )


def _read_lines(proposal: TimeProposal, quote: Callable[[str], str]) -> list[str]:
    if proposal.usable and proposal.day_only and proposal.clock is None:
        lines = _comment(
            f"CHECK time: column {quote(proposal.column)} gives the day only "
            f"({_shown(proposal, quote)}), and no other time column the reader reads gives "
            "the time of day: alerts date each flow at 00:00 of its day, so incidents and time "
            "windows (--follow) cannot order events within a day."
        )
        return lines + ([_format_line(proposal, quote)] if proposal.layout else [])
    if proposal.usable and proposal.layout is None:
        return _comment(*_day_only(proposal, quote)) if proposal.clock is not None else []
    column, example = quote(proposal.column), quote(proposal.example[:40])
    if proposal.readers:
        return _comment(
            f"CHECK time: column {column} is not proposed as [roles] timestamp: its dates "
            f"({example}) read day first and month first alike (no day above 12 settles it). "
            f"If you know which, set one of these and, under [roles], timestamp = {column}:",
            *(f"time_format = {quote(layout)}" for layout in proposal.readers),
        )
    if not proposal.usable:
        return _comment(
            f"CHECK time: column {column} is not proposed as [roles] timestamp: it holds "
            f"{example} ({proposal.why}), and no common layout reads every value. Write the "
            "times as ISO 8601, or give their strptime layout as time_format (docs/data.md)."
        )
    lines = _comment(*_day_only(proposal, quote)) if proposal.clock is not None else [""]
    return [*lines, _format_line(proposal, quote)]


def _format_line(proposal: TimeProposal, quote: Callable[[str], str]) -> str:
    """The ``time_format`` line of ``proposal``'s layout, with the first value as it reads."""
    assert proposal.layout is not None
    read = datetime.strptime(proposal.example, proposal.layout).isoformat()
    note = (
        f"CHECK: reads column {quote(proposal.column)} ({quote(proposal.example[:40])} as {read})"
    )
    return f"time_format = {quote(proposal.layout)}  # {note}"


def _shown(proposal: TimeProposal, quote: Callable[[str], str]) -> str:
    """An example of ``proposal``'s values (its first, when read as they are)."""
    return quote(proposal.example[:40]) if proposal.example else "no value"


def _day_only(proposal: TimeProposal, quote: Callable[[str], str]) -> list[str]:
    """Advice for a day-only column beside a column of the time of day: join them (a day read
    as it is, ISO 8601, then reads with its clock as it is; one read by a layout needs that
    layout with the clock's)."""
    said = (
        f"CHECK time: column {quote(proposal.column)} gives the day only "
        f"({quote(proposal.example[:40])}); the time of day is in column {quote(proposal.clock)}, "
        "and a mapping reads one time column (it joins no two), so alerts date each flow at "
        "00:00 of its day. To keep the time of day, write the two as one column"
    )
    if proposal.layout is None:
        return [f"{said} (the day, a space, the time of day), which the reader reads as it is."]
    joined = f"{proposal.layout} %H:%M" + ":%S" * proposal.seconds
    return [f"{said} and read it with", f"time_format = {quote(joined)}"]


def _comment(*paragraphs: str) -> list[str]:
    """A blank line, then each paragraph as TOML comment lines of at most 99 characters."""
    lines = [""]
    for paragraph in paragraphs:
        lines += ["# " + line for line in textwrap.wrap(paragraph, 97, break_long_words=False)]
    return lines


def _distinct(values: pd.Series) -> list[str]:
    text = values.dropna().astype(str).str.strip()
    return list(pd.unique(text[text != ""].to_numpy(dtype=object)))


def _layouts_reading(texts: list[str]) -> list[str]:
    """The layouts that read every text as a time in :data:`YEARS`, in :data:`LAYOUTS` order."""
    sample = texts[:SAMPLE]
    tried = [layout for layout in LAYOUTS if _reads(layout, sample)]
    return [layout for layout in tried if _reads(layout, texts[SAMPLE:])]


def _reads(layout: str, texts: list[str]) -> bool:
    return all(_read(layout, text) is not None for text in texts)


def _read(layout: str, text: str) -> datetime | None:
    if len(text) != _WIDTHS.get(layout, len(text)):  # strptime takes ``2019425`` for %Y%m%d
        return None
    try:
        moment = datetime.strptime(text, layout)
    except ValueError:
        return None
    return moment if moment.year in YEARS else None


def _reads_syslog(texts: list[str]) -> bool:
    """Whether every text is syslog's yearless time (read in a leap year, for 29 February)."""
    try:
        for text in texts[:SAMPLE]:
            datetime.strptime(f"2000 {text}", f"%Y {SYSLOG}")
    except ValueError:
        return False
    return bool(texts)


def _ambiguous(readers: list[str], texts: list[str]) -> bool:
    """Whether layouts that read every text disagree on one, or swap day and month (they
    agree only because no day is above 12)."""
    if any(_swapped(layout) in set(readers) - {layout} for layout in readers):
        return True
    return len({tuple(_read(layout, text) for text in texts) for layout in readers}) > 1


def _swapped(layout: str) -> str:
    return layout.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _has_clock(layout: str) -> bool:
    return "%H" in layout or "%I" in layout


def _clock_column(raw: pd.DataFrame, column: str) -> str | None:
    """Another column whose every value is a time of day (``17:33:16``), if one is."""
    for other in raw.columns:
        values = raw[other].dropna().head(SAMPLE).astype(str).str.strip()
        if other != column and len(values) and values.str.match(_CLOCK_TEXT).all():
            return str(other)
    return None

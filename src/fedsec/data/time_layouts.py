"""``fedsec inspect``'s flow time: the ``[roles] timestamp`` column it proposes is one the
mapped reader reads. Text the reader takes as it is (ISO 8601, epoch numbers:
:mod:`fedsec.data.flow_times`) needs nothing; other text gets the one common strptime layout
(``time_format``) that reads every value. A layout is never guessed: when a day-first and a
month-first layout both read every value (no day above 12), or none reads them, the column is
not proposed as the flow's time and the proposal's comments say why (and, when a layout only
gives the day, which column holds the time of day: a mapping reads one time column). Whole
numbers of 8 or 14 digits that are all dates (``20190425``) are read as such, not as epochs;
syslog's yearless time is never proposed (its year would be invented). Of several time-like
columns, the first the reader can read is proposed, and those passed over are named."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from fedsec.data.flow_times import first_unreadable_time
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


@dataclass(frozen=True)
class TimeProposal:
    """The flow time proposed: ``column`` read by ``layout`` (None: as it is), or not
    ``usable``: ``why`` (no layout reads it) or ``readers`` (layouts that read it, day and
    month in either order); ``clock``: the column holding the time of day a layout lacks;
    ``passed``: the candidates preferred to it that are not usable."""

    column: str
    layout: str | None = None
    usable: bool = True
    example: str = ""
    why: str = ""
    readers: tuple[str, ...] = ()
    clock: str | None = None
    seconds: bool = True
    passed: tuple[TimeProposal, ...] = ()  # better-named columns no layout reads

    def warning(self) -> str | None:
        """What ``fedsec inspect`` says of the time on the console, if anything."""
        if self.passed and self.usable:
            names = ", ".join(repr(p.column) for p in self.passed)
            return (
                f"column {self.column!r} is proposed as the flow's time in place of {names}, "
                "which are not read as they are (see the proposal)"
            )
        if not self.usable:
            return f"column {self.column!r} is not proposed as the flow's time (see the proposal)"
        if self.clock is None:
            return None
        return (
            f"column {self.column!r}, the flow's time, gives the day only: the time of day is in "
            f"column {self.clock!r}, which a mapping does not join to it (see the proposal)"
        )


def choose_time(raw: pd.DataFrame, candidates: list[str]) -> TimeProposal | None:
    """The first of ``candidates`` (best first) the mapped reader can read as the flow's time,
    naming those passed over; when none can, why the first cannot (None: no candidate)."""
    passed: list[TimeProposal] = []
    for column in candidates:
        proposal = propose_time(raw, column)
        if proposal.usable:
            return replace(proposal, passed=tuple(passed))
        passed.append(proposal)
    return replace(passed[0], passed=tuple(passed[1:])) if passed else None


def propose_time(raw: pd.DataFrame, column: str) -> TimeProposal:
    """How the mapped reader can read ``raw[column]`` as the flow's time, if it can."""
    compact = compact_date_layout(raw[column])
    if compact is not None:
        return _proposed(raw, column, [compact], cell_text(raw[column].dropna().iloc[0]))
    found = first_unreadable_time(raw[column])
    if found is None:
        return TimeProposal(column)
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
    clock = None if _has_clock(readers[0]) else _clock_column(raw, column)
    seconds = clock is None or bool(raw[clock].dropna().astype(str).str.count(":").max() == 2)
    return TimeProposal(column, readers[0], example=example, clock=clock, seconds=seconds)


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
    if proposal.usable and proposal.layout is None:
        return []
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
    read = datetime.strptime(proposal.example, proposal.layout).isoformat()
    note = f"CHECK: reads column {column} ({example} as {read})"
    return [*lines, f"time_format = {quote(proposal.layout)}  # {note}"]


def _day_only(proposal: TimeProposal, quote: Callable[[str], str]) -> list[str]:
    joined = f"{proposal.layout} %H:%M" + ":%S" * proposal.seconds
    return [
        f"CHECK time: column {quote(proposal.column)} gives the day only "
        f"({quote(proposal.example[:40])}); the time of day is in column {quote(proposal.clock)}, "
        "and a mapping reads one time column (it joins no two), so alerts date each flow at "
        "00:00 of its day. To keep the time of day, write the two as one column and read it "
        "with",
        f"time_format = {quote(joined)}",
    ]


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

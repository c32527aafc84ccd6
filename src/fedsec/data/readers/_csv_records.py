"""CSV records checked and parsed, whole or block by block: what every CSV reader shares.

:class:`RecordScan` checks each record of a text against the header (or the first record) and
the caps, keeping the line count and the header from one block to the next, so a file read in
blocks is refused as the whole file is, with the same line numbers. :func:`parse_records` then
parses a checked text with pandas. :func:`read_csv_chunks` reads a file that way in frames of
about a given number of records, never holding the whole file.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections import Counter
from collections.abc import Collection, Iterator
from itertools import repeat
from pathlib import Path

import pandas as pd

from fedsec.core.errors import EmptyInput, HeaderOnly, InputError
from fedsec.data.readers._input import Limits, limits, text_blocks


class RecordScan:
    """Records checked block after block: the header's (or first record's) width, no repeated
    header line, the column and row caps; ``names`` are the header's names, trimmed (or field
    numbers), ``records`` the data records seen so far."""

    def __init__(
        self, path: Path, sep: str, has_header: bool, caps: Limits, allowed: Collection[str]
    ) -> None:
        self.path, self.sep, self.has_header, self.caps = path, sep, has_header, caps
        self.allowed = allowed
        self.names: list[str] | None = None
        self.records = 0
        self.lines = 0  # physical lines of the blocks already scanned

    def scan(self, text: str) -> int:
        """The data records of ``text`` (the next block of whole lines), each checked: by
        Python's csv module, or, once the header is read, line by line where no record can
        be quoted (:meth:`_plain`: the same checks and messages, several times faster)."""
        records = 0
        while self.names is None and text:
            line, text = _first_line(text)
            if '"' in line:
                return records + self._parsed(line + text)
            records += self._parsed(line)
        plain = self._plain(text) if text else 0
        return records + (plain if plain is not None else self._parsed(text))

    def _parsed(self, text: str) -> int:
        """:meth:`scan` by the csv module."""
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.sep)
        records = 0
        try:
            for fields in reader:
                if fields and self._is_record(fields, self.lines + reader.line_num):
                    records += 1
        except csv.Error as error:
            line = self.lines + reader.line_num
            raise InputError(self.path, f"line {line} is not CSV: {error}") from None
        self.lines += text.count("\n")
        return records

    def _plain(self, text: str) -> int | None:
        """:meth:`scan` of a text no csv rule can bite (no quote, no carriage return but in
        line breaks, no field longer than the csv module's limit), by counting separators;
        None for any other text."""
        if '"' in text or text.count("\r") != text.count("\r\n"):
            return None
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        if max(map(len, lines), default=0) > csv.field_size_limit():
            return None
        first = self._first_failing(text, lines)
        kept = [i for i, line in enumerate(lines) if line not in ("", "\r")]
        records = bisect.bisect_left(kept, first)
        cap = self.caps.max_rows
        if cap is not None and self.records + records > cap:
            raise self._over_cap(cap)  # a record before the first bad line is one too many
        if first < len(lines):  # the csv path's refusal of that line
            self._is_record(lines[first].removesuffix("\r").split(self.sep), self.lines + first + 1)
        self.records += records
        self.lines += text.count("\n")
        return records

    def _first_failing(self, text: str, lines: list[str]) -> int:
        """The position of the first line (blank lines aside) with another number of fields
        than the header, or repeating it; ``len(lines)`` when none. The separators of all
        lines are counted at once; a line that may repeat the header must hold its first
        name."""
        names, sep = self.names or [], self.sep
        counts = list(map(str.count, lines, repeat(sep)))
        bad = len(lines)
        if set(counts) != {len(names) - 1}:
            blank = {"", "\r"}
            width = len(names) - 1
            bad = next(
                (i for i, n in enumerate(counts) if n != width and lines[i] not in blank),
                len(lines),
            )
        header = len(lines)
        if self.has_header and names and names[0] in text:
            header = next(
                (i for i, line in enumerate(lines[:bad]) if self._repeats_header(line)), bad
            )
        return min(bad, header)

    def _repeats_header(self, line: str) -> bool:
        names = self.names or []
        if not self.has_header or names[0] not in line:
            return False
        fields = line.removesuffix("\r").split(self.sep)
        return len(fields) == len(names) and _is_header(fields, names)

    def _is_record(self, fields: list[str], line: int) -> bool:
        if self.names is None:
            self._first(fields)
            return not self.has_header
        names = self.names
        if len(fields) != len(names):
            what = "the header has" if self.has_header else "the first record has"
            raise InputError(
                self.path, f"line {line} has {len(fields)} fields, {what} {len(names)}"
            )
        if self.has_header and _clean(fields[0]) == names[0] and _is_header(fields, names):
            raise InputError(
                self.path,
                f"line {line} repeats the header (concatenated files? pass each file as its "
                "own input)",
            )
        self.records += 1
        cap = self.caps.max_rows
        if cap is not None and self.records > cap:
            raise self._over_cap(cap)
        return True

    def _over_cap(self, cap: int) -> InputError:
        return InputError(self.path, f"has more than {cap} rows, the cap (FEDSEC_MAX_ROWS)")

    def _first(self, fields: list[str]) -> None:
        width = len(fields)
        if width > self.caps.max_columns:
            raise InputError(
                self.path,
                f"has {width} columns, more than the cap of {self.caps.max_columns} "
                "(FEDSEC_MAX_COLUMNS)",
            )
        self.names = [str(i) for i in range(width)]
        if self.has_header:
            self.names = _header_names(self.path, fields, self.allowed)
            if self.sep == ",":
                check_separator(self.path, self.names)
        else:
            self.records += 1


def _first_line(text: str) -> tuple[str, str]:
    """The text's first line (with its line break) and the rest."""
    cut = text.find("\n") + 1 or len(text)
    return text[:cut], text[cut:]


def parse_records(
    path: Path, text: str, scan: RecordScan, records: int, *, header_line: bool
) -> pd.DataFrame:
    """``text`` (``records`` data records checked by ``scan``; ``header_line``: it starts with
    the header) parsed by pandas. A file's header names become the columns (allowed duplicates
    suffixed ``.1``); a file without one has numbered columns."""
    names = scan.names or []
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=0 if header_line else None,
            sep=scan.sep,
            index_col=False,
            low_memory=False,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise InputError(path, f"cannot be parsed as CSV: {error}") from error
    if len(frame) != records or frame.shape[1] != len(names):
        raise InputError(
            path,
            f"parsed as {len(frame)} rows of {frame.shape[1]} columns, but the file holds "
            f"{records} records of {len(names)} fields (stray quotes?)",
        )
    frame.columns = _unique_names(names) if scan.has_header else list(range(len(names)))
    if frame.columns.duplicated().any():  # e.g. "X", "X" and a literal "X.1"
        raise InputError(
            path,
            f"column names clash: {sorted(set(frame.columns[frame.columns.duplicated()]))}",
        )
    return frame


def read_csv_chunks(
    path: Path,
    rows: int,
    *,
    header: int | None = 0,
    sep: str = ",",
    replace_errors: bool = False,
    allow_duplicates: Collection[str] = (),
    caps: Limits | None = None,
    block_bytes: int = 1 << 20,
    first_row: int = 0,
) -> Iterator[pd.DataFrame]:
    """:func:`~fedsec.data.readers._io.read_csv_checked`'s frame in frames of ``rows`` lines
    (more when a quoted value's line break falls at the cut), indexed by each record's data row
    in the file (0-based): the same checks, never the whole file in memory (blocks of about
    ``block_bytes``). Each frame's column types are pandas' inference on its own rows. Rows
    before data row ``first_row`` are checked but neither parsed nor given."""
    path = Path(path)
    caps = caps or limits()
    scan = RecordScan(path, sep, header is not None, caps, allow_duplicates)
    blocks = text_blocks(path, caps, replace=replace_errors, block_bytes=block_bytes)
    for text in _record_texts(path, blocks, rows, scan):
        yield from _frames(path, text, scan, first_row)
    if scan.records == 0:
        raise HeaderOnly(path, "file has a header but no rows", scan.names)


def check_records(path: Path, *, sep: str = ",", caps: Limits | None = None) -> None:
    """The text and record checks of :func:`read_csv_chunks` (a header line) over the whole
    file, its values not parsed: its first refusal is raised, or nothing."""
    path = Path(path)
    caps = caps or limits()
    scan = RecordScan(path, sep, True, caps, ())
    for text in _record_texts(path, text_blocks(path, caps), CHECKED_LINES, scan):
        scan.scan(text)
    if scan.records == 0:
        raise HeaderOnly(path, "file has a header but no rows", scan.names)


#: Lines :func:`check_records` checks at a time.
CHECKED_LINES = 65_536


def _record_texts(path: Path, blocks: Iterator[str], rows: int, scan: RecordScan) -> Iterator[str]:
    """The text of ``blocks`` cut after about ``rows`` lines each (after the header's line,
    the first), never inside a quoted value; an empty file is refused."""
    pending: list[str] = []
    lines = 0
    text = False  # anything but white space yet
    for block in blocks:
        pending.append(block)
        lines += block.count("\n")
        text = text or bool(block.strip())
        want = rows + (scan.has_header and scan.names is None)
        while text and lines >= want:
            joined = "".join(pending)
            cut = _balanced_cut(joined, want)
            if not cut:
                break  # a quoted value runs on: wait for the next block
            yield joined[:cut]
            pending, lines = [joined[cut:]], lines - joined.count("\n", 0, cut)
            want = rows
    if not text:
        raise EmptyInput(path, "file is empty")
    yield "".join(pending)


def _balanced_cut(text: str, lines: int) -> int:
    """Just past the ``lines``-th line break, or past the first one after it where the quotes
    opened so far are closed (0: none in ``text``)."""
    cut = -1
    for _ in range(lines):
        cut = text.find("\n", cut + 1)
    while cut >= 0 and text.count('"', 0, cut) % 2:
        cut = text.find("\n", cut + 1)
    return cut + 1


def _frames(path: Path, text: str, scan: RecordScan, first_row: int) -> Iterator[pd.DataFrame]:
    """The block's records from data row ``first_row`` on as a frame (none when it holds none;
    a block wholly before that row is checked, not parsed)."""
    header_line = scan.has_header and scan.names is None
    before = scan.records
    records = scan.scan(text)
    if records and before + records > first_row:
        frame = parse_records(path, text, scan, records, header_line=header_line)
        frame.index = pd.RangeIndex(before, before + records)
        yield frame.loc[first_row:] if before < first_row else frame


#: Separators other than a comma that a one-column header betrays (``a;b;c``: a CSV from a
#: spreadsheet set to a locale whose decimal mark is a comma, or a TSV).
OTHER_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def check_separator(path: Path, names: list[str]) -> None:
    """A comma-separated file's header of one column that holds another separator is refused,
    naming it: read as one column, every field would be missing or its values text."""
    if len(names) != 1:
        return
    for mark, name in OTHER_SEPARATORS.items():
        if mark in names[0]:
            shown = mark.encode("unicode_escape").decode()
            raise InputError(
                path,
                f"its header is one column holding {name}s ({names[0][:60]!r}): the file looks "
                f"{name}-separated, and fedsec reads comma-separated CSV; convert it first "
                f"(pandas: read_csv(IN, sep='{shown}').to_csv(OUT, index=False))",
            )


def _clean(name: str) -> str:
    return name.replace("\ufeff", "").strip()


def _is_header(fields: list[str], names: list[str]) -> bool:
    return [_clean(f) for f in fields] == names


def _header_names(path: Path, fields: list[str], allowed: Collection[str]) -> list[str]:
    names = [_clean(f) for f in fields]
    for position, name in enumerate(names, start=1):
        if not name:
            raise InputError(path, f"column {position} of the header has no name")
    counts = Counter(names)
    twice = [n for n, c in counts.items() if c > (2 if n in allowed else 1)]
    if twice:
        raise InputError(path, f"column names appear more than once: {', '.join(twice[:5])}")
    return names


def _unique_names(names: list[str]) -> list[str]:
    """Allowed duplicates get pandas' suffixes (``X``, ``X.1``), as the readers expect."""
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        out.append(name if not seen[name] else f"{name}.{seen[name]}")
        seen[name] += 1
    return out

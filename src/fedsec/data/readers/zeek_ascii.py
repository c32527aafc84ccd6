"""Zeek's ASCII log layout: the ``#`` header block, tab-separated (or ``#separator``) fields,
the unset and empty markers. :func:`ascii_rows` reads a whole log's text; :func:`ascii_chunks`
reads a log block by block, with the same checks and line and row numbers, never holding the
whole file (what ``fedsec detect`` streams)."""

from __future__ import annotations

import codecs
import io
import operator
import re
from collections.abc import Callable, Iterator
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fedsec.core.errors import EmptyInput, HeaderOnly, InputError
from fedsec.data.readers._input import Limits, limits, text_blocks


def ascii_rows(text: str, path: Path, caps: Limits) -> pd.DataFrame:
    """The log's rows as a frame of strings (NaN = unset)."""
    header = _header(text, path, caps)
    data = _data_lines(text, header, path, caps)
    if not data:
        raise HeaderOnly(
            path, "file has a header but no rows", header["fields"].split(header["separator"])
        )
    return frame_of(data, header, path, 0)


def ascii_chunks(
    path: Path,
    rows: int,
    caps: Limits | None = None,
    block_bytes: int = 1 << 20,
    frame: Callable[[list[str], dict[str, str], Path, int], Any] | None = None,
) -> Iterator[Any]:
    """The log's rows in frames of ``rows`` rows, indexed by their data row (0-based): the
    header from the block that ends it, every later ``#fields`` line checked against it.
    ``frame``: what a chunk's checked data lines become (default :func:`frame_of`: a frame
    of strings)."""
    caps = caps or limits()
    frame = frame or frame_of
    header: dict[str, str] | None = None
    start: list[str] = []  # the text up to the first data line
    data: list[str] = []
    line, before = 1, 0
    for block in text_blocks(path, caps, block_bytes=block_bytes):
        if header is None:
            start.append(block)
            if not _has_data(block):
                continue
            block, start = "".join(start), []
            header = _header(block, path, caps)
        else:
            _same_fields(block, header, path)
        data += _data_lines(block, header, path, caps, line, before + len(data))
        line += block.count("\n")
        while len(data) >= rows:
            yield frame(data[:rows], header, path, before)
            data, before = data[rows:], before + rows
    if header is None:
        text = "".join(start)
        if not text.strip():
            raise EmptyInput(path, "file is empty")
        header = _header(text, path, caps)  # no #fields header: that refusal, else the next
    if data:
        yield frame(data, header, path, before)
    elif before == 0:
        names = header["fields"].split(header["separator"])
        raise HeaderOnly(path, "file has a header but no rows", names)


def _has_data(text: str) -> bool:
    return any(line.strip() and not line.startswith("#") for line in text.split("\n"))


def _header(text: str, path: Path, caps: Limits) -> dict[str, str]:
    """The ``#key value`` lines of the header, separator decoded; every #fields line agrees."""
    first = re.search(r"^#separator[ \t]+(\S+)", text, re.M)
    separator = _separator(first.group(1), path) if first else "\t"
    header: dict[str, str] = {"separator": separator}
    for key, value in re.findall(r"^#([a-z_]+)" + re.escape(separator) + r"(.*)$", text, re.M):
        value = value.rstrip("\r")
        if key == "fields" and "fields" in header and header["fields"] != value:
            raise InputError(path, "holds several different #fields headers; read them apart")
        header.setdefault(key, value)
    if "fields" not in header:
        raise InputError(path, "no #fields header: not a Zeek ASCII log")
    names = header["fields"].split(separator)
    if len(names) > caps.max_columns:
        raise InputError(path, f"#fields names {len(names)} fields, more than {caps.max_columns}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice or "" in names:
        raise InputError(path, f"#fields names a field twice or not at all: {twice or ['']}")
    return header


def _same_fields(text: str, header: dict[str, str], path: Path) -> None:
    """A later block's ``#fields`` lines (a rotated log appended) name the header's fields."""
    if "#fields" not in text:  # most blocks: no header to check
        return
    pattern = r"^#fields" + re.escape(header["separator"]) + r"(.*)$"
    if any(value.rstrip("\r") != header["fields"] for value in re.findall(pattern, text, re.M)):
        raise InputError(path, "holds several different #fields headers; read them apart")


def _separator(escaped: str, path: Path) -> str:
    """``\\x09`` -> a tab: one character, not a line break or ``#``."""
    try:
        separator = codecs.decode(escaped, "unicode_escape")
    except UnicodeDecodeError:
        separator = ""
    if len(separator) != 1 or separator in "\r\n#":
        raise InputError(path, f"#separator {escaped[:20]!r} is not one usable character")
    return separator


def frame_of(data: list[str], header: dict[str, str], path: Path, before: int) -> pd.DataFrame:
    """Data lines (checked by :func:`_data_lines`; ``before``: data rows ahead of them in the
    file) as a frame of strings, NaN where unset, indexed by data row."""
    separator = header["separator"]
    columns = header["fields"].split(separator)
    unset, empty = header.get("unset_field", "-"), header.get("empty_field", "(empty)")
    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(data)),
            sep=separator,
            header=None,
            dtype=object,
            keep_default_na=False,
            na_values=[unset],
            quoting=3,  # csv.QUOTE_NONE: Zeek escapes, it does not quote
            engine="c",
            index_col=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise InputError(path, f"rows do not match the #fields header: {error}") from error
    if frame.shape != (len(data), len(columns)):
        raise InputError(
            path, f"parsed as {frame.shape} but holds {len(data)} rows of {len(columns)} fields"
        )
    frame.columns = columns
    frame.index = pd.RangeIndex(before, before + len(frame))
    frame = _split_space_joined(frame, columns, unset)
    blank = frame.to_numpy() == ""
    if blank.any():
        row, column = (int(i[0]) for i in np.nonzero(blank))
        raise InputError(
            path,
            f"data row {before + row + 1} has no value for {frame.columns[column]!r} (a "
            f"truncated row? Zeek writes {unset!r} for unset fields)",
        )
    holds_empty = [c for c in frame.columns if (frame[c].to_numpy() == empty).any()]
    for column in holds_empty:
        frame[column] = frame[column].where(frame[column] != empty, "")
    return frame


def _data_lines(
    text: str, header: dict[str, str], path: Path, caps: Limits, first: int = 1, before: int = 0
) -> list[str]:
    """Data lines (not ``#``, not blank), each with exactly the header's number of fields and
    no carriage return inside (a ``#`` inside a field is data, not a comment); ``first``: the
    text's first line number in the file, ``before``: data rows ahead of it. All lines are
    checked at once; when one fails, line by line, so that the first failing line is named."""
    separator = header["separator"]
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    rows = [line for line in lines if line and not line.startswith("#")]
    fit = set(map(str.count, rows, repeat(separator))) <= {header["fields"].count(separator)}
    clean = not any(map(operator.contains, rows, repeat("\r")))
    within = caps.max_rows is None or before + len(rows) <= caps.max_rows
    if fit and clean and within:
        return rows
    return _checked_lines(text, header, path, caps, first, before)


def _checked_lines(
    text: str, header: dict[str, str], path: Path, caps: Limits, first: int, before: int
) -> list[str]:
    """:func:`_data_lines` line by line: the first line that fails raises its error."""
    separator = header["separator"]
    width = header["fields"].count(separator) + 1
    rows = []
    for number, line in enumerate(text.split("\n"), start=first):
        line = line.removesuffix("\r")
        if not line or line.startswith("#"):
            continue
        fields = line.count(separator) + 1
        if fields != width:
            raise InputError(
                path, f"line {number} has {fields} fields, the #fields header names {width}"
            )
        if "\r" in line:
            raise InputError(path, f"line {number} holds a carriage return inside a field")
        rows.append(line)
        if caps.max_rows is not None and before + len(rows) > caps.max_rows:
            raise InputError(path, f"has more than {caps.max_rows} rows (FEDSEC_MAX_ROWS)")
    return rows


def _split_space_joined(frame: pd.DataFrame, columns: list[str], unset: str) -> pd.DataFrame:
    """IoT-23 quirk: the last fields joined by spaces instead of the separator."""
    for column in columns:
        names = column.split()
        if len(names) < 2:
            continue
        parts = frame[column].str.strip().str.split(r"\s+", n=len(names) - 1, expand=True)
        parts = parts.reindex(columns=range(len(names)))
        parts = parts.where(parts != unset, np.nan)
        position = frame.columns.get_loc(column)
        frame = frame.drop(columns=column)
        for offset, name in enumerate(names):
            frame.insert(position + offset, name, parts[offset].to_numpy())
    return frame

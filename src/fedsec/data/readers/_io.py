"""Checked CSV input and value checks shared by the readers: every problem names the file and
what is wrong (column, row)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import EmptyInput, InputError
from fedsec.data.leaks import check_not_packets
from fedsec.data.readers._csv_records import RecordScan, parse_records
from fedsec.data.readers._input import Limits, limits, read_text


def read_csv_checked(
    path: Path,
    *,
    header: int | None = 0,
    sep: str = ",",
    replace_errors: bool = False,
    allow_duplicates: Collection[str] = (),
    caps: Limits | None = None,
) -> pd.DataFrame:
    """Read a CSV (plain or compressed) through the hardened input layer.

    Refused with the file and line named: anything :func:`read_text` refuses, a header wider
    than the column cap, a column without a name or named twice (after trimming spaces; except
    ``allow_duplicates``, a source's documented quirk), a record with more or fewer fields than
    the header (never padded with NaN), a repeated header line (concatenated files), more rows
    than the row cap. Column names come back trimmed. ``header=None``: every record must have
    as many fields as the first; columns are numbered from 0. :func:`read_csv_chunks` reads the
    same frame in parts.
    """
    path = Path(path)
    caps = caps or limits()
    text = read_text(path, caps, replace=replace_errors)
    if not text.strip():
        raise EmptyInput(path, "file is empty")
    scan = RecordScan(path, sep, header is not None, caps, allow_duplicates)
    records = scan.scan(text)
    if records == 0:
        raise EmptyInput(path, "file has a header but no rows")
    frame = parse_records(path, text, scan, records, header_line=header is not None)
    del text
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    """Fail naming every required column the file lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        check_not_packets(path, [str(c) for c in frame.columns])  # the reason, if it is one
        raise InputError(path, f"missing required columns: {', '.join(missing)}")


def numeric_block(
    frame: pd.DataFrame,
    columns: Sequence[str],
    path: Path,
    *,
    allow_nonfinite: Iterable[str] = (),
) -> tuple[pd.DataFrame, int]:
    """Columns as float64; non-numeric text or NaN/Infinity is an error naming column and row.

    Columns in ``allow_nonfinite`` may hold NaN/Infinity (a documented quirk of the source):
    those become NaN and are counted, to be imputed downstream.
    """
    allowed = set(allow_nonfinite)
    out: dict[str, pd.Series] = {}  # one frame built at the end: inserting column by column is slow
    replaced = 0
    for column in columns:
        raw = frame[column]
        values = to_float(raw)
        if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
            bad_text = pd.Series(False, index=raw.index)
        else:  # the words are looked at only where a value did not read as a number
            bad_text = values.isna() & raw.notna()
            if bad_text.any():
                bad_text &= ~_is_nonfinite_word(raw)
        if bad_text.any():
            row = int(np.flatnonzero(bad_text.to_numpy())[0])
            raise InputError(
                path,
                f"column {column!r} holds non-numeric value {_shown(raw.iloc[row])} "
                f"(data row {data_row(frame, row)}; {int(bad_text.sum())} such rows)",
            )
        nonfinite = ~np.isfinite(values.to_numpy())
        if nonfinite.any():
            if column not in allowed:
                row = int(np.flatnonzero(nonfinite)[0])
                raise InputError(
                    path,
                    f"column {column!r} holds NaN/Infinity or a number too large "
                    f"({_shown(raw.iloc[row])}, data row {data_row(frame, row)}; "
                    f"{int(nonfinite.sum())} such rows)",
                )
            replaced += int(nonfinite.sum())
            values = values.where(np.isfinite(values), np.nan)
        out[column] = values
    return pd.DataFrame(out, index=frame.index), replaced


def to_float(raw: pd.Series) -> pd.Series:
    """Numbers as float64 (NaN where not a number); integers too large for a float are inf."""
    try:
        return pd.to_numeric(raw, errors="coerce").astype(float)
    except OverflowError:  # Python ints beyond float range (pandas keeps 400-digit numbers)
        return pd.to_numeric(raw.astype(str), errors="coerce").astype(float)


def check_not_negative(
    raw: pd.DataFrame, numeric: pd.DataFrame, columns: Sequence[str], path: Path
) -> None:
    """No count or duration of ``columns`` (read into ``numeric``) below zero: the refusal
    names the columns, the first row's value and its data row (``raw``'s index)."""
    present = [c for c in columns if c in numeric]
    below = numeric[present].to_numpy() < 0
    rows = below.any(axis=1)
    if not rows.any():
        return
    negative = [c for c, found in zip(present, below.any(axis=0), strict=True) if found]
    row = int(np.flatnonzero(rows)[0])
    column = present[int(np.flatnonzero(below[row])[0])]
    raise InputError(
        path,
        f"negative values in {', '.join(negative)} ({column!r} holds "
        f"{numeric[column].iloc[row]:g} in data row {data_row(raw, row)}; "
        f"{int(rows.sum())} such rows)",
    )


def data_row(frame: pd.DataFrame, position: int) -> int:
    """The 1-based data row (in its file) of the row at ``position``; frames keep the row's
    number in the file as their index (0-based), also after rows were dropped."""
    label = frame.index[position]
    return int(label) + 1 if isinstance(label, (int, np.integer)) else position + 1


def _shown(value: object) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    text = str(value) if isinstance(value, int | float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_range(
    frame: pd.DataFrame,
    columns: Iterable[str],
    path: Path,
    *,
    low: float,
    high: float,
    what: str,
    integer: bool = True,
    allow_missing: bool = False,
) -> None:
    """Numbers in ``[low, high]`` (whole numbers when ``integer``): ports, protocol numbers,
    timestamps. A value outside, or not a number, is an error naming column and row."""
    for column in columns:
        if column not in frame:
            continue
        raw = frame[column]
        values = to_float(raw).to_numpy()
        good = np.isfinite(values) & (values >= low) & (values <= high)
        if integer:
            good &= np.mod(np.where(good, values, 0), 1) == 0
        bad = ~good
        if allow_missing and bad.any():  # missing or blank text: looked at where not good
            bad &= ~_missing(raw)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                path,
                f"column {column!r} holds {_shown(raw.iloc[row])}, not {what} "
                f"(data row {data_row(frame, row)}; {int(bad.sum())} such rows)",
            )


PORT = {"low": 0, "high": 65_535, "what": "a port (0..65535)"}
PROTOCOL_NUMBER = {"low": 0, "high": 255, "what": "an IP protocol number (0..255)"}
#: Unix seconds from 1970 to 2200: what pandas' timestamps can hold, with room.
UNIX_SECONDS = {"low": 0, "high": 7.3e9, "what": "a Unix time in seconds", "integer": False}
UNIX_MILLISECONDS = {"low": 0, "high": 7.3e12, "what": "a Unix time in milliseconds"}


def _missing(raw: pd.Series) -> np.ndarray:
    """Rows with no value: NaN, or (text) blank."""
    missing = raw.isna().to_numpy()
    if not pd.api.types.is_numeric_dtype(raw):  # numbers are never blank text
        missing = missing | (raw.astype(str).str.strip() == "").to_numpy()
    return missing


def _is_nonfinite_word(raw: pd.Series) -> pd.Series:
    words = raw.astype(str).str.strip().str.lower()
    return words.isin(["nan", "inf", "-inf", "infinity", "-infinity", "+infinity", ""])


def text_block(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """String columns, stripped and lower-cased (whitespace variants are not information)."""
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        out[column] = (
            frame[column]
            .fillna("")
            .astype(str)
            .str.strip()
            .str.lower()
            .replace({"nan": "-", "": "-"})
            .to_numpy(dtype=object)
        )
    return out

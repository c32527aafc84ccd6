"""Checked CSV input shared by the readers: every problem names the file and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.errors import InputError


def read_csv_checked(
    path: Path,
    *,
    header: int | None = 0,
    names: Sequence[str] | None = None,
    sep: str = ",",
    comment: str | None = None,
) -> pd.DataFrame:
    """Read a CSV (plain or gzip) with clear errors for absent, empty or unparsable files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        frame = pd.read_csv(
            path,
            header=header,
            names=names,
            sep=sep,
            comment=comment,
            low_memory=False,
            encoding="utf-8-sig",
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError as error:
        raise InputError(path, "file is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as error:
        raise InputError(path, f"cannot be parsed as CSV: {error}") from error
    if frame.empty:
        raise InputError(path, "file has a header but no rows")
    if names is not None and frame.shape[1] != len(names):
        raise InputError(path, f"expected {len(names)} columns, found {frame.shape[1]}")
    return frame


def strip_column_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Remove the leading/trailing spaces and BOMs some distributions put in column names."""
    return frame.rename(columns=lambda c: str(c).replace("\ufeff", "").strip())


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    """Fail naming every required column the file lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
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
    out = pd.DataFrame(index=frame.index)
    replaced = 0
    for column in columns:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
            bad_text = pd.Series(False, index=raw.index)
        else:
            bad_text = values.isna() & raw.notna() & ~_is_nonfinite_word(raw)
        if bad_text.any():
            row = int(np.flatnonzero(bad_text.to_numpy())[0])
            raise InputError(
                path,
                f"column {column!r} holds non-numeric value {raw.iloc[row]!r} "
                f"(data row {row + 1}; {int(bad_text.sum())} such rows)",
            )
        nonfinite = ~np.isfinite(values.to_numpy())
        if nonfinite.any():
            if column not in allowed:
                row = int(np.flatnonzero(nonfinite)[0])
                raise InputError(
                    path,
                    f"column {column!r} holds NaN/Infinity (data row {row + 1}; "
                    f"{int(nonfinite.sum())} such rows)",
                )
            replaced += int(nonfinite.sum())
            values = values.where(np.isfinite(values), np.nan)
        out[column] = values
    return out, replaced


def _is_nonfinite_word(raw: pd.Series) -> pd.Series:
    words = raw.astype(str).str.strip().str.lower()
    return words.isin(["nan", "inf", "-inf", "infinity", "-infinity", "+infinity", ""])


def text_block(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """String columns, stripped and lower-cased (whitespace variants are not information)."""
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        out[column] = (
            frame[column]
            .astype(str)
            .str.strip()
            .str.lower()
            .replace({"nan": "-", "": "-"})
            .to_numpy(dtype=object)
        )
    return out

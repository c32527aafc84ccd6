"""loghub files: structured CSVs (one parsed line per row), template lists, session labels,
and line timestamps for time-window grouping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.logs.sequences import LABELS, open_text
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL
from fedsec.data.readers._io import UNIX_SECONDS, check_range, read_csv_checked, require_columns

# Date/Time layouts of the loghub systems (HDFS, Hadoop, OpenStack, BGL's Time column, ISO).
TIME_FORMATS = (
    "%y%m%d %H%M%S",
    "%Y-%m-%d %H:%M:%S,%f",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d-%H.%M.%S.%f",
    "ISO8601",
)
TEMPLATE_COLUMNS = ("EventId", "EventTemplate")
SESSION_LABELS = {**LABELS, "abnormal": ANOMALOUS, "anomalous": ANOMALOUS, "-": NORMAL}


def read_structured(path: Path) -> pd.DataFrame:
    """A loghub ``*_structured.csv``: needs ``EventId`` and ``EventTemplate`` (``Content`` is
    used for session ids, ``Label`` for BGL/Thunderbird alert tags, dates for time windows)."""
    path = Path(path)
    frame = read_csv_checked(path)
    require_columns(frame, ["EventId", "EventTemplate"], path)
    ids = frame["EventId"].fillna("").astype(str).str.strip()
    blank = (ids == "").to_numpy()
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise InputError(path, f"column 'EventId' is blank in data row {row + 1}")
    frame["EventId"] = ids
    frame["EventTemplate"] = frame["EventTemplate"].fillna("").astype(str)
    return frame


def line_labels(frame: pd.DataFrame) -> np.ndarray | None:
    """Per-line labels from a loghub ``Label`` column ('-' = normal, an alert tag = anomalous)."""
    if "Label" not in frame.columns:
        return None
    tags = frame["Label"].astype(str).str.strip()
    return np.where(tags == "-", NORMAL, ANOMALOUS).astype(np.int8)


def read_templates(path: Path) -> dict[str, str]:
    """Event id -> template text, from a CSV whose header names ``EventId`` and
    ``EventTemplate`` (any order, other columns ignored: loghub's files) or a plain list with one
    template per line whose line number is the event id (log-sequences-ait)."""
    path = Path(path)
    lines = list(open_text(path))
    if not lines:
        raise InputError(path, "template file is empty")
    named = [c for c in TEMPLATE_COLUMNS if c in _header_names(lines[0])]
    if len(named) == len(TEMPLATE_COLUMNS):
        frame = read_csv_checked(path)
        ids = frame["EventId"].astype(str).str.strip()
        return dict(zip(ids, frame["EventTemplate"].astype(str), strict=True))
    if named:
        (missing,) = (c for c in TEMPLATE_COLUMNS if c not in named)
        raise InputError(
            path,
            f"line 1 names column {named[0]} but no {missing}: a templates CSV needs both "
            "(a plain list has one template per line)",
        )
    return {str(n): text.rstrip("\r\n") for n, text in enumerate(lines, start=1)}


def _header_names(line: str) -> list[str]:
    """The fields of a possible CSV header line (BOM, spaces and quotes trimmed)."""
    return [f.strip().strip('"').strip() for f in line.lstrip("\ufeff").strip().split(",")]


def read_session_labels(path: Path) -> dict[str, int]:
    """Session id -> label from a two-column CSV (``BlockId,Label`` like loghub's
    ``anomaly_label.csv``): Normal/Anomaly or 0/1."""
    path = Path(path)
    frame = read_csv_checked(path)
    column = (
        "Label" if "Label" in frame.columns else frame.columns[1] if frame.shape[1] > 1 else None
    )
    if column is None:
        raise InputError(path, "expected an id column and a Label column")
    values = frame[column].astype(str).str.strip().str.lower().map(SESSION_LABELS)
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(path, f"line {row + 2}: unknown label {frame[column].iloc[row]!r}")
    ids = frame[frame.columns[0]].astype(str).str.strip()
    return dict(zip(ids, values.astype(int), strict=True))


def line_times(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """Seconds since the epoch per line, from ``Timestamp`` or ``Date`` + ``Time`` columns."""
    if "Timestamp" in frame.columns:
        values = pd.to_numeric(frame["Timestamp"].astype(str), errors="coerce").to_numpy(float)
        if not np.isnan(values).any():
            check_range(frame, ["Timestamp"], path, **UNIX_SECONDS)
            return values
    if "Time" in frame.columns:
        texts = _text(frame["Time"])
        if "Date" in frame.columns:
            both = _text(frame["Date"]) + " " + texts
            parsed = _first_layout(both)
            if parsed is not None:
                return parsed
        parsed = _first_layout(texts)
        if parsed is not None:
            return parsed
    raise InputError(
        path, "cannot read line times for time-window sessions (need Timestamp or Date/Time)"
    )


def _text(column: pd.Series) -> pd.Series:
    """Column as text; all-digit values (HDFS ``081109``/``203615`` read as numbers) re-padded."""
    texts = column.astype(str).str.strip()
    if texts.str.fullmatch(r"\d+").all():
        texts = texts.str.zfill(6)
    return texts


def _first_layout(texts: pd.Series) -> np.ndarray | None:
    for layout in TIME_FORMATS:
        parsed = pd.to_datetime(texts, format=layout, errors="coerce", utc=True)
        if not parsed.isna().any():
            return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)
    return None

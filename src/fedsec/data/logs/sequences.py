"""Event-sequence files: one session per line, ``<id>,<space-separated event ids>``.

This is the format of the log-sequences-ait collection (Landauer et al. 2024). Lines without a
comma (DeepLog's own HDFS files carry no block ids) get the id ``<file>:<line>``; a first line
naming the columns (``SessionId,EventSequence``) is skipped, a tab-separated line refused.
LogRobust-style CSVs (``Sequence,label``) carry a label per session. Every problem names the
file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fedsec.core.errors import InputError
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL, UNKNOWN, SessionTable
from fedsec.data.readers._input import text_lines
from fedsec.data.readers._io import read_csv_checked, require_columns

EVENT = re.compile(r"^[A-Za-z0-9_.:\-]+$")
ID = re.compile(r"^[^\s,]+$")
HEADER_EVENTS = {"eventsequence", "sequence", "events", "eventids"}  # column names, lower case
LABELS = {"0": NORMAL, "1": ANOMALOUS, "normal": NORMAL, "anomaly": ANOMALOUS}


def open_text(path: Path) -> Iterator[str]:
    """Lines of a plain or compressed UTF-8 text file, read through the hardened input layer
    (size, inflation and line-length caps; clear errors for absent or unreadable files)."""
    return text_lines(Path(path))


def parse_events(text: str, path: Path, line: int) -> tuple[str, ...]:
    events = tuple(text.split())
    if not events:
        raise InputError(path, f"line {line}: session has no events")
    bad = next((e for e in events if not EVENT.fullmatch(e)), None)
    if bad is not None:
        raise InputError(path, f"line {line}: malformed event id {bad[:40]!r}")
    return events


def read_sequences(path: Path) -> SessionTable:
    """Sessions of an event-sequence file (labels unknown: the scenario says what they are).
    A first line naming the columns (``SessionId,EventSequence``) is skipped."""
    path = Path(path)
    ids: list[str] = []
    events: list[tuple[str, ...]] = []
    for number, raw in enumerate(open_text(path), start=1):
        line = raw.strip()
        if not line:
            continue
        split = _split_line(line, path, number)
        if split is None:
            if ids:
                raise InputError(path, f"line {number}: a header line inside the file: {line!r}")
            continue
        key, text = split
        ids.append(key)
        events.append(parse_events(text, path, number))
    if not events:
        raise InputError(path, "no sessions (empty file)")
    return SessionTable(path.name, np.asarray(ids, object), events, np.full(len(ids), UNKNOWN))


def _split_line(line: str, path: Path, number: int) -> tuple[str, str] | None:
    """Session id and event text of a line (``None``: a header line naming the columns)."""
    if "," not in line:
        if "\t" in line:
            raise InputError(
                path,
                f"line {number}: fields separated by a tab; a sequence file has "
                "'<session id>,<space-separated event ids>' per line (or event ids alone)",
            )
        return f"{path.name}:{number}", line
    key, text = (part.strip() for part in line.split(",", 1))
    if text.lower().replace("_", "") in HEADER_EVENTS:
        return None
    if not ID.fullmatch(key):
        raise InputError(path, f"line {number}: malformed session id {key[:40]!r}")
    return key, text


def read_logrobust(path: Path) -> SessionTable:
    """LogRobust-format CSV: ``Sequence`` (space-separated event ids) and ``label`` (1 anomaly)."""
    path = Path(path)
    frame = read_csv_checked(path)
    require_columns(frame, ["Sequence", "label"], path)
    events = [parse_events(str(text), path, row + 2) for row, text in enumerate(frame["Sequence"])]
    labels = frame["label"].astype(str).str.strip().str.lower().map(LABELS)
    if labels.isna().any():
        row = int(np.flatnonzero(labels.isna().to_numpy())[0])
        raise InputError(path, f"line {row + 2}: label {frame['label'].iloc[row]!r} is not 0/1")
    ids = np.asarray([f"{path.name}:{row + 2}" for row in range(len(frame))], object)
    return SessionTable(path.name, ids, events, labels.to_numpy(np.int8))

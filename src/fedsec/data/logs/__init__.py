"""Log and event-sequence ingestion: every format becomes a :class:`SessionTable`.

* ``sequences``: ``<id>,<space-separated event ids>`` per line (log-sequences-ait);
* ``logrobust``: ``Sequence,label`` CSV (LogRobust / logdeep format, labelled);
* ``loghub-structured``: a loghub ``*_structured.csv`` (parsed lines with EventId/EventTemplate);
* ``raw-log``: raw lines, parsed into templates with Drain3.
Lines of the last two are grouped into sessions by an id found in the text (``session_key``, a
regex) or by time windows (``session_window`` seconds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import ConfigError, InputError
from fedsec.data.logs import drain, loghub
from fedsec.data.logs.sequences import read_logrobust, read_sequences
from fedsec.data.logs.sessions import (
    UNKNOWN,
    SessionTable,
    concat_sessions,
    group_by_key,
    group_by_window,
    session_keys,
)

LOG_FORMATS: tuple[str, ...] = ("sequences", "logrobust", "loghub-structured", "raw-log")


@dataclass(frozen=True)
class SessionOptions:
    """How lines become sessions and where labels and template texts come from."""

    session_key: str | None = None  # regex; group 1 (or the match) is the session id
    session_window: float = 0.0  # seconds; only without a session_key
    log_format: str | None = None  # raw-log: loghub system name or format string
    templates: Path | None = None  # event id -> template text (sequence files)
    labels: Path | None = None  # session id -> Normal/Anomaly

    def __post_init__(self) -> None:
        window = self.session_window
        if not (math.isfinite(window) and window >= 0):  # -5 was read as "none given"
            raise ConfigError(
                f"session window of {window:g} seconds: give a finite number of seconds, 0 or more "
                "(0: no time windows)"
            )
        if self.session_key and window > 0:  # the key won, the window was ignored
            raise ConfigError(
                f"session_key (--session-key '{self.session_key}') and session_window "
                f"(--session-window {window:g}) given together: lines are grouped by the "
                "session id the key finds or else into time windows, never both; leave one out"
            )


#: The grouping options each format reads; the others it would ignore (a loghub structured
#: CSV may name its system, as its raw log does: the same options serve both).
GROUPING = {
    "sequences": (),
    "logrobust": (),
    "loghub-structured": ("session_key", "session_window", "log_format"),
    "raw-log": ("session_key", "session_window", "log_format"),
}


def check_options_apply(fmt: str, options: SessionOptions) -> None:
    """Refuse a grouping option the format never reads (it was ignored without a word: a
    sequence file is one session a line whatever ``--session-key`` says)."""
    given = {
        "session_key": options.session_key,
        "session_window": options.session_window,
        "log_format": options.log_format,
    }
    ignored = [name for name, value in given.items() if value and name not in GROUPING[fmt]]
    if ignored:
        flags = ", ".join(f"{n} (--{n.replace('_', '-')})" for n in ignored)
        raise ConfigError(
            f"{flags}: not read by log format {fmt!r}"
            + (" (one session a line)" if not GROUPING[fmt] else "")
            + "; leave it out"
        )


def read_sessions(fmt: str, paths: Sequence[Path], options: SessionOptions) -> SessionTable:
    """Sessions of one or more files of one format (each file grouped on its own)."""
    if fmt not in LOG_FORMATS:
        raise InputError(
            paths[0] if paths else "-", f"unknown log format {fmt!r}; expected {LOG_FORMATS}"
        )
    if not paths:
        raise InputError("-", "no input files")
    check_options_apply(fmt, options)
    tables = [_read_one(fmt, Path(p), options) for p in paths]
    for table, path in zip(tables, paths, strict=True):
        table.source_file = np.full(len(table), str(path), dtype=object)
    table = concat_sessions(tables, source=Path(paths[0]).name)
    if options.templates is not None:
        table.templates = {**loghub.read_templates(options.templates), **table.templates}
    if options.labels is not None:
        table.labels = _labels_from_file(table, options.labels)
    return table


def _read_one(fmt: str, path: Path, options: SessionOptions) -> SessionTable:
    if fmt == "sequences":
        return read_sequences(path)
    if fmt == "logrobust":
        return read_logrobust(path)
    if fmt == "loghub-structured":
        frame = loghub.read_structured(path)
        templates = dict(zip(frame["EventId"], frame["EventTemplate"].astype(str), strict=True))
        return _grouped(path, frame, frame["EventId"].tolist(), templates, options, [])
    if not options.log_format:
        raise InputError(
            path, f"raw-log needs a log format (one of {', '.join(drain.LOG_FORMATS)} or <Field>s)"
        )
    frame, skipped = drain.read_raw(path, options.log_format)
    keys, templates = drain.mine_templates(frame["Content"])
    notes = [f"{path.name}: {skipped} lines did not match the log format"] if skipped else []
    return _grouped(path, frame, keys, templates, options, notes)


def _grouped(
    path: Path,
    frame: pd.DataFrame,
    events: list[str],
    templates: dict[str, str],
    options: SessionOptions,
    notes: list[str],
) -> SessionTable:
    labels = loghub.line_labels(frame)
    if options.session_key:
        if "Content" not in frame.columns:
            raise InputError(path, "grouping by session id needs a Content column")
        keys = session_keys(frame["Content"], options.session_key, path)
        ids, sessions, session_labels = group_by_key(keys, events, labels)
        unassigned = sum(1 for k in keys if not k)
        if unassigned:
            notes.append(f"{path.name}: {unassigned} lines name no session id (left out)")
    elif options.session_window > 0:
        times = loghub.line_times(frame, path)
        ids, sessions, session_labels = group_by_window(
            times, options.session_window, events, labels
        )
    else:
        raise InputError(path, "log lines need session_key (a regex) or session_window (seconds)")
    if not sessions:
        raise InputError(path, f"no line names a session id matching {options.session_key!r}")
    return SessionTable(path.name, ids, sessions, session_labels, templates, notes)


def _labels_from_file(table: SessionTable, path: Path) -> np.ndarray:
    mapping = loghub.read_session_labels(path)
    labels = np.asarray([mapping.get(str(i), UNKNOWN) for i in table.ids], np.int8)
    missing = int((labels == UNKNOWN).sum())
    if missing:
        table.notes.append(f"{path.name}: {missing} sessions have no label (unknown)")
    return labels


__all__ = ["LOG_FORMATS", "SessionOptions", "SessionTable", "read_sessions"]

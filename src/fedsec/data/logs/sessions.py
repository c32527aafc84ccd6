"""Sessions: the canonical in-memory form of log data, and grouping log lines into sessions.

A session is the ordered list of event keys (template ids) of one unit of work: an HDFS block,
a Hadoop container or application, an OpenStack instance, or a time window. Event keys are the
source's own ids (``"5"``, ``"E22"``, ``"D7"``); ``templates`` maps them to template text where the
organization knows it. Nothing here is shared between organizations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError

NORMAL, ANOMALOUS, UNKNOWN = 0, 1, -1
LABEL_NAMES = {NORMAL: "normal", ANOMALOUS: "anomalous", UNKNOWN: "unknown"}


@dataclass
class SessionTable:
    """Sessions of one source: ids, event keys per session, labels (1 anomalous, 0 normal,
    -1 unknown) and the template text of the event keys the source knows."""

    source: str
    ids: np.ndarray
    events: list[tuple[str, ...]]
    labels: np.ndarray
    templates: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source_file: np.ndarray | None = None  # per session, the file it was read from

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=object)
        self.labels = np.asarray(self.labels, dtype=np.int8)
        if self.source_file is None:
            self.source_file = np.full(len(self.ids), self.source, dtype=object)
        if not len(self.ids) == len(self.events) == len(self.labels) == len(self.source_file):
            raise ValueError("ids, events, labels and files must have one entry per session")

    def __len__(self) -> int:
        return len(self.events)

    def take(self, rows: Sequence[int] | np.ndarray) -> SessionTable:
        rows = np.asarray(rows, dtype=np.int64)
        return SessionTable(
            self.source,
            self.ids[rows],
            [self.events[i] for i in rows],
            self.labels[rows],
            self.templates,
            list(self.notes),
            self.source_file[rows],
        )

    def with_label(self, label: int) -> SessionTable:
        return SessionTable(
            self.source,
            self.ids,
            self.events,
            np.full(len(self), label, np.int8),
            self.templates,
            list(self.notes),
            self.source_file,
        )

    def counts(self) -> dict[str, int]:
        return {LABEL_NAMES[k]: int((self.labels == k).sum()) for k in LABEL_NAMES}


def concat_sessions(tables: Sequence[SessionTable], source: str | None = None) -> SessionTable:
    """One table from several (templates merged; later sources win on a clash)."""
    if not tables:
        raise ValueError("nothing to concatenate")
    templates: dict[str, str] = {}
    for table in tables:
        templates.update(table.templates)
    return SessionTable(
        source or tables[0].source,
        np.concatenate([t.ids for t in tables]) if tables else np.zeros(0, object),
        [e for t in tables for e in t.events],
        np.concatenate([t.labels for t in tables]),
        templates,
        [n for t in tables for n in t.notes],
        np.concatenate([t.source_file for t in tables]),
    )


def session_keys(contents: pd.Series, pattern: str, path: object) -> list[list[str]]:
    """Per line, the distinct session ids ``pattern`` finds in its text (group 1 when the
    pattern has a group). A line naming two HDFS blocks belongs to both sessions."""
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise InputError(path, f"invalid session pattern {pattern!r}: {error}") from error
    keys = []
    for text in contents.fillna("").astype(str):
        found = regex.findall(text)
        keys.append(list(dict.fromkeys(f if isinstance(f, str) else f[0] for f in found)))
    return keys


def group_by_key(
    keys: list[list[str]], events: Sequence[str], line_labels: np.ndarray | None
) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    """Sessions from lines: each id collects, in line order, the events of the lines naming it.
    A session is anomalous when any of its lines is (unknown when lines carry no label)."""
    order: dict[str, list[int]] = {}
    for line, ids in enumerate(keys):
        for key in ids:
            order.setdefault(key, []).append(line)
    return _sessions(list(order.items()), events, line_labels)


def group_by_window(
    times: np.ndarray, seconds: float, events: Sequence[str], line_labels: np.ndarray | None
) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    """Sessions from lines by tumbling time windows of ``seconds`` from the first line's time;
    events are ordered by time (stable), ids are the windows' start times (UTC, ISO 8601)."""
    if seconds <= 0:
        raise ValueError("a time window must be positive")
    start = float(np.floor(np.nanmin(times)))
    index = np.floor((times - start) / seconds).astype(np.int64)
    by_time = np.argsort(times, kind="stable")
    order: dict[str, list[int]] = {}
    for line in by_time:
        stamp = pd.Timestamp(start + index[line] * seconds, unit="s", tz="UTC")
        order.setdefault(stamp.isoformat(), []).append(int(line))
    return _sessions(list(order.items()), events, line_labels)


def _sessions(
    groups: list[tuple[str, list[int]]], events: Sequence[str], line_labels: np.ndarray | None
) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    ids = np.asarray([key for key, _ in groups], dtype=object)
    sessions = [tuple(events[i] for i in lines) for _, lines in groups]
    if line_labels is None:
        labels = np.full(len(groups), UNKNOWN, np.int8)
    else:
        labels = np.asarray(
            [
                ANOMALOUS if (line_labels[lines] == ANOMALOUS).any() else NORMAL
                for _, lines in groups
            ],
            np.int8,
        )
    return ids, sessions, labels

"""Windows over long traces: a session of thousands of events becomes fixed-length windows.

A window holds ``length`` consecutive events; windows start every ``stride`` events, and the last
one ends at the session's last event, so every event is in at least one window. A session no
longer than ``length`` stays whole. Each window keeps its session's label and names it with its
first event's position (``<session id>@<start>``).
"""

from __future__ import annotations

import numpy as np


def window_starts(size: int, length: int, stride: int) -> list[int]:
    """Start positions of the windows of a session of ``size`` events."""
    if length < 1 or stride < 1:
        raise ValueError("window length and stride must be positive")
    if stride > length:
        raise ValueError("a stride larger than the window skips events")
    if size <= length:
        return [0]
    starts = list(range(0, size - length + 1, stride))
    if starts[-1] != size - length:
        starts.append(size - length)
    return starts


def trace_windows(
    sessions: list[np.ndarray], length: int, stride: int
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(windows, index of each window's session, start of each window in its session)."""
    windows, owners, starts = [], [], []
    for index, tokens in enumerate(sessions):
        for start in window_starts(len(tokens), length, stride):
            windows.append(tokens[start : start + length])
            owners.append(index)
            starts.append(start)
    return windows, np.asarray(owners, np.int64), np.asarray(starts, np.int64)

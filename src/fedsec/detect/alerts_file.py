"""The alerts file of ``fedsec detect --follow``, as a long-running service keeps its log:
opened for appending, so that ``logrotate``'s ``copytruncate`` leaves no hole of NUL bytes
(a handle writing at its own offset did: 264 KB of them, measured), and opened again on SIGHUP,
so that after a rotation by renaming the alerts go to the new file, not on into the renamed
one. With a kept position (``--state``), it is first cut back to the size kept with it. It is
locked (``flock``) while written: a second run following into it is refused. It is never
opened through a symlink (:mod:`fedsec.core.appending`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fedsec.core.appending import open_appending
from fedsec.core.atomic import unwritable
from fedsec.core.errors import OutputError


class AlertsFile:
    """An alerts file written at its end, opened again when asked (after a rotation)."""

    def __init__(self, path: Path, keep_bytes: int | None = None) -> None:
        """``keep_bytes``: the size kept with a position; the file is cut back to it (None:
        the file is created empty). ``shorter``: it was shorter than that (rotated or
        truncated since), and is appended to as it is."""
        self.path, self.shorter, self.reopen_asked = Path(path), False, False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise unwritable(self.path, error) from None
        self.file: BinaryIO = open_appending(self.path, "--out")
        self._lock()
        size = os.fstat(self.file.fileno()).st_size
        self.shorter = keep_bytes is not None and size < keep_bytes
        self.file.truncate(0 if keep_bytes is None else min(size, keep_bytes))

    def _lock(self) -> None:
        """The file locked for this run alone: a second ``--follow`` writing it (and its
        ``--state``) would interleave their lines and positions."""
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise OutputError(
                f"{self.path}: another fedsec detect --follow is writing it; stop that one, "
                "or choose another --out"
            ) from None

    def write(self, data: bytes | memoryview) -> int:
        if self.reopen_asked:
            self._reopen()
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def fileno(self) -> int:
        return self.file.fileno()

    def size(self) -> int:
        """The file's size (what has been written to it, since its last rotation)."""
        self.file.flush()
        return os.fstat(self.file.fileno()).st_size

    def close(self) -> None:
        self.file.close()

    def ask_reopen(self) -> None:
        """Open the file again before the next write (SIGHUP: it was renamed by a rotation)."""
        self.reopen_asked = True

    def _reopen(self) -> None:
        self.reopen_asked = False
        self.file.close()
        self.file = open_appending(self.path, "--out")
        self._lock()


@contextlib.contextmanager
def reopened_on_hangup(alerts: AlertsFile) -> Iterator[None]:
    """SIGHUP asks ``alerts`` to open its file again, as daemons do after logrotate (the old
    handler restored; from the main thread only, where signals are handled)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGHUP, lambda *_: alerts.ask_reopen())
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)

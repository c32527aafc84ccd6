"""Files written at their end (``--follow``'s alerts file, ``--rejects``), opened without
following a symlink: a link planted at the path would send the lines, or a ``--force``
truncation, to whatever file it names. Such a path is refused, as is anything but a regular
file (a pipe, a device) and a file with other hard links (the same file under another name)."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO

from fedsec.core.atomic import unwritable
from fedsec.core.errors import OutputError


def check_appendable(path: Path, option: str) -> None:
    """Refuse, before any work, a ``path`` that is a symlink (even a dangling one) or that
    exists and is not a regular file."""
    path = Path(path)
    if path.is_symlink():
        raise OutputError(
            f"{path} is a symbolic link; fedsec does not write through one: nothing was "
            f"changed, give {option} the file itself"
        )
    if os.path.lexists(path) and not path.is_file():
        raise OutputError(
            f"{path} is not a regular file; nothing was changed: choose another {option}"
        )
    if os.path.lexists(path) and path.stat().st_nlink > 1:
        raise _linked(path, option)


def _linked(path: Path, option: str) -> OutputError:
    return OutputError(
        f"{path} has other hard links (the same file under other names); fedsec does not write "
        f"to it: nothing was changed, choose another {option}"
    )


def open_appending(path: Path, option: str, *, truncate: bool = False) -> BinaryIO:
    """``path`` opened for appending (created if absent; emptied with ``truncate``), never
    through a symlink and only if it is a regular file."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        handle = os.open(path, flags, 0o666)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENXIO):  # a symlink; a pipe nobody reads
            check_appendable(path, option)
        raise unwritable(path, error) from None
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise OutputError(f"{path} is not a regular file; choose another {option}")
        if status.st_nlink > 1:
            raise _linked(path, option)
        fcntl.fcntl(handle, fcntl.F_SETFL, fcntl.fcntl(handle, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        if truncate:
            os.ftruncate(handle, 0)
    except BaseException:
        os.close(handle)
        raise
    return os.fdopen(handle, "ab")

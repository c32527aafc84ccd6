"""Atomic outputs: a reader sees the old file or the complete new one, never half of one.

A write the system refuses (a full disk, a quota, an I/O error) is an :class:`OutputError`
naming the file, and the temporary file goes: the command says why in one line and leaves
nothing.

A run killed outright (SIGKILL, the OOM killer) cannot remove its temporary file or folder;
their names carry the process and the machine, and the next write into the same folder removes
those of processes of this machine that no longer run (:func:`remove_left_by_killed_runs`).

Temporary files and folders are created with ``os.open``/``os.mkdir`` and the usual modes
(0o666, 0o777), so the kernel applies the process umask itself: the umask is never read or
changed here (changing it would race with other threads creating files meanwhile).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from fedsec.core.errors import OutputError

FILE_MODE = 0o666
#: What is left of a file :func:`stream` could not write.
NOTHING_KEPT = "nothing of it was written"
#: The system's refusals of a write: no room, a quota, a file-size limit, a read-only disk.
REFUSED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
FOLDER_MODE = 0o777


#: This machine, in the names of the temporary files and folders made here (a short hash).
HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
#: A temporary file's or folder's name: ``.<target>.<pid>.<host><random>.tmp``.
TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)\.(?P<host>[0-9a-f]{6})[0-9a-f]{12}\.tmp$")


def _sibling(path: Path, suffix: str) -> Path:
    """A temporary name beside ``path``, naming the process and machine that made it."""
    return path.parent / f".{path.name}.{os.getpid()}.{HOST}{secrets.token_hex(6)}{suffix}"


def remove_left_by_killed_runs(folder: Path) -> list[Path]:
    """The temporary files and folders made in ``folder`` by processes of this machine that no
    longer run, removed and returned: a run killed outright (SIGKILL, the OOM killer) cannot
    remove its own, and they can be gigabytes. Those of a running process, or of another
    machine sharing the folder, are kept; so is every name this module does not make."""
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            made = TEMPORARY.match(entry.name)
            if made is None or made["host"] != HOST or _running(int(made["pid"])):
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a process of another user does too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _create_file(path: Path, mode: int = FILE_MODE) -> tuple[int, Path]:
    """A new, exclusively created temporary file beside ``path`` (``mode`` less the umask)."""
    while True:
        tmp = _sibling(path, ".tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), tmp
        except FileExistsError:
            continue


def _create_folder(path: Path) -> Path:
    """A new temporary folder beside ``path`` (mode 0o777 less the umask)."""
    while True:
        staging = _sibling(path, ".tmp")
        try:
            staging.mkdir(FOLDER_MODE)
        except FileExistsError:
            continue
        return staging


def write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """``data`` into ``path``; with ``mode`` (e.g. ``0o600`` for a secret) the file has that
    mode from its creation on, before any byte is written; otherwise the umask's default."""
    with stream(path, mode) as handle:
        handle.write(data)


def create_new(path: Path, data: bytes, mode: int = FILE_MODE) -> Path:
    """A new file ``path`` holding ``data``, with exactly ``mode`` from its creation on, before
    any byte is written (``0o600`` for a secret): an existing file is never replaced
    (:class:`FileExistsError`, also when one appears meanwhile), and no reader sees it half
    written. A write the system refuses is an :class:`OutputError` naming ``path``."""
    path = Path(path)
    _make_parent(path)
    remove_left_by_killed_runs(path.parent)
    if os.path.lexists(path):
        raise FileExistsError(path)
    try:
        fd, tmp = _create_file(path, mode)
    except OSError as error:
        raise unwritable(path, error) from None
    try:
        os.fchmod(fd, mode)  # created no wider than ``mode``: exactly it, whatever the umask
        with os.fdopen(fd, "wb") as handle:
            Sink(handle, path).write(data)
            try:
                handle.flush()
                os.fsync(handle.fileno())
                _put_new(tmp, path)
            except FileExistsError:
                raise
            except OSError as error:
                raise unwritable(path, error) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def stream(path: Path, mode: int | None = None) -> Iterator[Sink]:
    """A :class:`Sink` to write ``path`` piece by piece: the pieces go to a temporary file
    beside it, which replaces ``path`` only when the block ends without an error (then the
    temporary file is removed and ``path`` is untouched). ``mode`` as for :func:`write_bytes`."""
    path = Path(path)
    _make_parent(path)
    remove_left_by_killed_runs(path.parent)
    existed = os.path.lexists(path)  # replaced; else one appearing meanwhile is never replaced
    try:
        fd, tmp = _create_file(path, FILE_MODE if mode is None else mode)
    except OSError as error:
        raise unwritable(path, error) from None
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # created no wider than ``mode``: exactly it, whatever the umask
        with os.fdopen(fd, "wb") as handle:
            yield Sink(handle, path)
            _finish(handle, tmp, path, existed)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Sink:
    """A handle whose writes, when the system refuses them, are an :class:`OutputError` naming
    the file being written (``kept``: what is left of it then). :func:`stream` gives one."""

    def __init__(self, handle: BinaryIO, path: Path | str, kept: str = NOTHING_KEPT) -> None:
        self._handle, self._path, self._kept = handle, path, kept

    def write(self, data: bytes | memoryview) -> int:
        try:
            return self._handle.write(data)
        except (BrokenPipeError, BlockingIOError):
            raise  # a pipe's reader went away, or is slow: not the system refusing the write
        except OSError as error:
            raise unwritable(self._path, error, self._kept) from None

    def flush(self) -> None:
        try:
            self._handle.flush()
        except (BrokenPipeError, BlockingIOError):
            raise
        except OSError as error:
            raise unwritable(self._path, error, self._kept) from None


def _finish(handle: BinaryIO, tmp: Path, path: Path, existed: bool) -> None:
    """The temporary file made durable and put in ``path``'s place: over the file that was
    there when the write began, or as a new file, never over one another process created
    meanwhile (a second run started before the first ended)."""
    try:
        handle.flush()
        os.fsync(handle.fileno())
        if existed:
            os.replace(tmp, path)
        else:
            _put_new(tmp, path)
    except FileExistsError:
        raise OutputError(
            f"{path}: appeared while this command wrote it (another run?); it was kept and "
            "nothing was written: run again with --force to replace it, or choose another name"
        ) from None
    except OSError as error:
        raise unwritable(path, error) from None


def _put_new(tmp: Path, path: Path) -> None:
    """``tmp`` named ``path``, which must not exist: a hard link fails if it does (atomically);
    where the file system has no hard links, checked just before the rename."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network and FUSE file systems)
        if os.path.lexists(path):
            raise FileExistsError(path) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _make_parent(path: Path) -> None:
    """``path``'s folder, made if missing; a file in a folder's place is named as such."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # mkdir's word for a file where the folder would be
        raise OutputError(
            f"{path}: cannot be written: {path.parent} is a file, not a folder"
        ) from None
    except OSError as error:
        raise unwritable(path, error) from None


def unwritable(path: Path | str, error: OSError, kept: str = NOTHING_KEPT) -> OutputError:
    """The error for ``path`` when the system refused to write it (``kept``: what is left)."""
    return OutputError(f"{path}: cannot be written: {why(error)} ({kept})")


def _refused_in(error: BaseException, staging: Path, target: Path) -> OutputError | None:
    """A refused write while building ``target`` in ``staging``, told of the final path."""
    if isinstance(error, OutputError) and str(staging) in str(error):
        return OutputError(str(error).replace(str(staging), str(target)))
    if isinstance(error, OSError) and error.errno in REFUSED:
        where = Path(str(error.filename).replace(str(staging), str(target)))
        return unwritable(where if error.filename else target, error)
    return None


def why(error: OSError) -> str:
    """What the system said, in words."""
    return error.strerror or str(error)


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def write_json(path: Path, data: Any, mode: int | None = None) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n"
    write_text(path, text, mode)


@contextlib.contextmanager
def directory(
    target: Path, *, dispose: Callable[[Path, Path], object] | None = None
) -> Iterator[Path]:
    """Build a directory in a temporary sibling; it takes ``target``'s place only on success.

    ``target`` may be absent or an empty folder. A non-empty ``target`` is replaced only when
    ``dispose`` is given: the old folder is moved aside, the new one swapped in, and
    ``dispose(old, target)`` decides what of the old one to delete. Without it nothing is ever
    deleted: the build fails with FileExistsError and the staging folder is removed.
    """
    target = Path(target)
    _make_parent(target)
    remove_left_by_killed_runs(target.parent)
    try:
        staging = _create_folder(target)
    except OSError as error:
        raise unwritable(target, error) from None
    try:
        yield staging
        old = None
        if target.is_dir() and not target.is_symlink() and any(target.iterdir()):
            if dispose is None:
                raise FileExistsError(f"{target} is not empty; nothing was replaced")
            old = target.parent / f".{target.name}.old-{os.getpid()}-{secrets.token_hex(3)}"
            os.replace(target, old)
        os.replace(staging, target)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)  # only ever our own staging folder
        refused = _refused_in(error, staging, target)
        if refused is not None:
            raise refused from None
        raise
    if old is not None:
        dispose(old, target)

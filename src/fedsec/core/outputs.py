"""Where commands write folders, and the one rule that protects what they did not write.

Every folder a fedsec command writes (a run, a privacy curve, a generated data set) holds a
marker, ``.fedsec-output.json``, naming the command and listing every file it wrote. A command
writes a folder that does not exist or is empty. It replaces a folder only when asked to
(``--force``) and only when that folder carries the marker of the same command and holds
nothing the marker does not list; replacing then removes exactly the listed files. Anything
else is refused before any work starts, and whatever appears meanwhile is kept (moved aside,
never deleted). The marker is data anyone can edit: an entry that is not a plain relative path
inside the folder is refused, and files are deleted without following any symlink.

Default run folders are ``runs/<scenario>-seed<N>[-<protection>]``, then ``-2``, ``-3`` ...:
a name is never reused, and ``runs/latest`` points at the newest run.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from fedsec import __version__
from fedsec.core import atomic
from fedsec.core.atomic import why
from fedsec.core.errors import OutputError

MARKER = ".fedsec-output.json"
RUNS = Path("runs")
LATEST = "latest"
POINTER = "fedsec-latest: "  # first line of the text file used where symlinks are unavailable


def _marker(folder: Path) -> dict:
    """The folder's marker, or {} when it has none (or an unreadable one)."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def marker_writer(folder: Path) -> str | None:
    """The command that wrote ``folder`` (its marker's ``writer``), or None."""
    writer = _marker(folder).get("writer")
    return writer if isinstance(writer, str) else None


def written_files(folder: Path) -> set[str] | None:
    """The files a fedsec command wrote in ``folder`` (from its marker), or None. A marker
    naming a file outside the folder (absolute, ``..``) is refused: ``--force`` deletes them."""
    files = _marker(folder).get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    unsafe = sorted(f for f in files if not inside_name(f))
    if unsafe:
        raise OutputError(
            f"{Path(folder) / MARKER} lists files outside {folder} ({unsafe[0]!r}"
            f"{' ...' if len(unsafe) > 1 else ''}); fedsec writes no such marker: nothing was "
            "changed, check the folder"
        )
    return set(files)


def inside_name(name: str) -> bool:
    """Whether ``name`` is a plain relative POSIX path, without ``..``, ``.`` or empty parts."""
    path = PurePosixPath(name)
    return (
        name not in ("", ".")
        and "\0" not in name
        and not path.is_absolute()
        and ".." not in path.parts
        and path.as_posix() == name
    )


def relative_files(folder: Path) -> set[str]:
    """Every file (and symlink) under ``folder``, as POSIX paths relative to it."""
    found = set()
    for root, dirs, names in os.walk(folder):
        links = [d for d in dirs if Path(root, d).is_symlink()]
        for name in [*names, *links]:
            found.add(Path(root, name).relative_to(folder).as_posix())
    return found


def foreign_files(folder: Path) -> list[str]:
    """Files under ``folder`` that no fedsec command wrote (everything, without a marker)."""
    written = written_files(folder) or set()
    return sorted(relative_files(folder) - written - {MARKER})


def check_writable(out: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output whose folder cannot be written (a read-only file
    system, no permission): found only at the end, it cost the whole run."""
    folder = Path(out).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folders to create are made in the nearest existing one
    if not folder.is_dir():
        raise OutputError(
            f"{out} cannot be written: {folder} is a file, not a folder; choose another {option}"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{out} cannot be written: {folder} is not writable (read-only or no permission); "
            f"choose another {option}"
        )


def check_own_name(out: Path, option: str = "--out") -> None:
    """An output folder is named by its own name (not ``.`` or ``..``) and is neither the
    current folder nor one holding it: it is built beside its place and moved in whole, which
    ``.`` cannot take and a shell standing in the old folder would not see."""
    try:
        here, target = Path.cwd().resolve(), out.resolve()
    except OSError:  # the current folder was deleted: the name alone is looked at
        here, target = None, None
    if here is not None and target == here:
        what = "the current folder"
    elif here is not None and target in here.parents:
        what = "a folder holding the current one"
    elif out.name in ("", ".", ".."):
        what = "not named by its own name"
    else:
        return
    raise OutputError(
        f"{out} is {what}: an output folder is built beside its place and moved in whole; "
        f"nothing was written: give {option} the name of a folder to create (say {option} "
        "report)"
    )


def check_target(
    out: Path, *, force: bool = False, option: str = "--out", writer: str | None = None
) -> None:
    """Refuse, before any work, an output folder that cannot be written safely; with
    ``writer``, one another command wrote (``--force`` replaces a command's own earlier output,
    never, say, the training run a hunt reads its model from)."""
    out = Path(out)
    if out.is_symlink():
        raise OutputError(f"{out} is a symbolic link; give the folder itself as {option}")
    check_writable(out, option)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder; choose another {option}")
    if out.exists() and any(out.iterdir()):
        check_replaceable(out, force=force, option=option, writer=writer)
    check_own_name(out, option)


def check_replaceable(
    out: Path, *, force: bool = False, option: str = "--out", writer: str | None = None
) -> None:
    """Refuse to replace the non-empty folder ``out`` unless it holds only what ``writer``
    wrote there before, and ``force``."""
    if written_files(out) is None:
        raise OutputError(
            f"{out} is not empty and was not written by fedsec; nothing was changed: "
            f"choose another {option}"
        )
    foreign = foreign_files(out)
    if foreign:
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise OutputError(
            f"{out} holds files fedsec did not write ({shown}); nothing was changed: move them "
            f"or choose another {option}"
        )
    earlier = marker_writer(out)
    if writer is not None and earlier is not None and earlier != writer:
        raise OutputError(
            f"{out} holds the output of `{earlier}`, not of `{writer}`; nothing was changed: "
            f"choose another {option} (--force replaces only this command's own outputs)"
        )
    if not force:
        raise OutputError(
            f"{out} holds an earlier fedsec output; pass --force to replace it, or choose "
            f"another {option}"
        )


def check_file(out: Path, *, force: bool = False, option: str = "--out") -> None:
    """Refuse to overwrite an existing file unless ``force``; never overwrite a folder. A
    symlink, even a dangling one, exists (``--force`` replaces the link, not its target)."""
    out = Path(out)
    if out.is_dir():
        raise OutputError(f"{out} is a folder; give a file name as {option}")
    if out.exists() and not out.is_file():  # a FIFO, a device: --force would replace the node
        raise OutputError(
            f"{out} is not a regular file (a pipe or a device); nothing was changed: give "
            f"{option} - and redirect standard output to it, or choose a file name"
        )
    check_writable(out, option)
    if os.path.lexists(out) and not force:
        raise OutputError(f"{out} exists; pass --force to overwrite it, or choose another {option}")


def remove_written(old: Path, target: Path) -> Path | None:
    """Delete the files fedsec wrote in ``old`` (the output ``target`` held, moved aside), then
    its empty folders. Anything else is kept: the folder is renamed ``<target>-kept[-N]`` and
    returned."""
    try:
        written = written_files(old) or set()
    except OutputError as error:  # the marker changed since check_target: nothing is deleted
        kept = free_name(target.parent, f"{target.name}-kept")
        os.replace(old, kept)
        raise OutputError(f"{error}; the earlier output was kept as {kept}") from None
    for name in sorted(written | {MARKER}):
        unlink_inside(old, name)
    for root, _dirs, _names in os.walk(old, topdown=False):
        with contextlib.suppress(OSError):
            Path(root).rmdir()  # only empty folders go
    if not old.exists():
        return None
    kept = free_name(target.parent, f"{target.name}-kept")
    os.replace(old, kept)
    return kept


def unlink_inside(folder: Path, name: str) -> None:
    """Delete ``folder/name`` (a file, or a symlink itself, never its target), reached without
    following any symlink on the way; a folder, or a path through a symlink, stays."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    *parents, leaf = PurePosixPath(name).parts
    try:
        handle = os.open(folder, flags)
    except OSError:
        return
    try:
        for part in parents:
            inner = os.open(part, flags, dir_fd=handle)
            os.close(handle)
            handle = inner
        if not stat.S_ISDIR(os.lstat(leaf, dir_fd=handle).st_mode):
            os.unlink(leaf, dir_fd=handle)
    except OSError:
        pass  # gone, or reached through a symlink: kept (the folder is then kept whole)
    finally:
        os.close(handle)


def write_marker(staging: Path, writer: str) -> None:
    files = sorted(relative_files(staging) - {MARKER})
    marker = {"writer": writer, "fedsec_version": __version__, "files": files}
    atomic.write_json(staging / MARKER, marker)


@contextlib.contextmanager
def output_directory(out: Path, writer: str, *, force: bool = False) -> Iterator[Path]:
    """Build ``out`` in a staging folder; it appears complete, with its marker, or not at all.
    An earlier fedsec output there is replaced only with ``force`` (see the module doc)."""
    out = Path(out)
    check_target(out, force=force, writer=writer)
    with atomic.directory(out, dispose=remove_written) as staging:
        yield staging
        write_marker(staging, writer)


def free_name(parent: Path, base: str) -> Path:
    """``parent/base``, else ``base-2``, ``base-3`` ...: the first name not taken."""
    candidate, number = Path(parent) / base, 1
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = Path(parent) / f"{base}-{number}"
    return candidate


def reserve(parent: Path, base: str) -> Path:
    """Create the first free ``parent/base[-N]`` folder, empty, so that a concurrent command
    cannot choose the same name; the run replaces it when complete."""
    parent = Path(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the runs folder {parent}: {why(error)}") from None
    while True:
        candidate = free_name(parent, base)
        try:
            candidate.mkdir()
        except FileExistsError:
            continue  # taken meanwhile by a concurrent command: take the next name
        except OSError as error:
            raise OutputError(f"cannot create the run folder {candidate}: {why(error)}") from None
        return candidate


def release(folder: Path) -> None:
    """Remove a reserved folder that stayed empty (the command failed or was stopped)."""
    with contextlib.suppress(OSError):
        Path(folder).rmdir()


@contextlib.contextmanager
def run_folder(
    out: Path | None,
    name: str,
    *,
    force: bool = False,
    runs: Path = RUNS,
    writer: str | None = None,
) -> Iterator[Path]:
    """The folder a command (``writer``) writes its run to: ``out``, checked now (before any
    work), else a reserved ``runs/<name>[-N]``, removed again if the command ends without
    filling it."""
    if out is not None:
        check_target(out, force=force, writer=writer)
        yield Path(out)
        return
    target = reserve(runs, name)
    try:
        yield target
    finally:
        release(target)


def run_name(scenario: str, seed: int, *extra: str) -> str:
    """``<scenario>-seed<N>`` followed by the non-empty ``extra`` parts."""
    return "-".join([f"{scenario}-seed{seed}", *(e for e in extra if e)])


def in_runs(folder: Path, runs: Path = RUNS) -> bool:
    """Whether ``folder`` sits directly in the runs folder (where ``latest`` is kept)."""
    return Path(folder).absolute().parent == Path(runs).absolute()


def point_latest(run: Path) -> Path | None:
    """Point ``<run's folder>/latest`` at ``run`` (a relative symlink, replaced atomically; a
    one-line text file where symlinks are unavailable). A ``latest`` fedsec did not make is left
    alone: returns None then."""
    run = Path(run)
    link = run.parent / LATEST
    if link.exists() and not link.is_symlink() and resolve_pointer_file(link) is None:
        return None
    temporary = run.parent / f".{LATEST}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        temporary.symlink_to(run.name, target_is_directory=True)
    except OSError:
        atomic.write_text(link, f"{POINTER}{run.name}\n")
        return link
    os.replace(temporary, link)
    return link


def resolve_pointer_file(path: Path) -> Path | None:
    """The run a text-file ``latest`` names, or None if ``path`` is not such a file."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(POINTER):
        return None
    return Path(path).parent / text[len(POINTER) :].strip()


def resolve(path: Path) -> Path:
    """``path`` with a text-file ``latest`` pointer in it followed (symlinks need nothing)."""
    path = Path(path)
    for index, part in enumerate(path.parts):
        if part == LATEST:
            prefix = Path(*path.parts[: index + 1])
            target = resolve_pointer_file(prefix) if prefix.is_file() else None
            if target is not None:
                return target.joinpath(*path.parts[index + 1 :])
    return path

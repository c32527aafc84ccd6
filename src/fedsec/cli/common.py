"""What every ``fedsec`` command shares: consoles, progress, clean errors and interrupts.

On a terminal output wraps to its width and training shows progress bars. Piped or logged,
nothing is wrapped (tables, descriptions and paths stay whole lines) and progress is plain lines:
one per arm when its first round ends, then at most one every ``PLAIN_EVERY_S`` seconds, and one
when it finishes.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import os
import stat
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fedsec.core import atomic, outputs, standard_streams
from fedsec.core.errors import FedsecError

UNWRAPPED = 1 << 16  # a width nothing wraps at: the console's and the help's when piped
PLAIN_EVERY_S = 10.0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
NOISY_LOGGERS = ("opacus", "nvflare", "matplotlib", "PIL")


class UnwrappedConsole(Console):
    """A rich console that wraps at the terminal's width, and never when not a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(UNWRAPPED, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size

    def print(self, *objects: Any, **options: Any) -> None:
        """As rich prints, but a table's title on a line of its own before it: rich wraps a
        title at its table's width, which broke a long output path mid-word even when piped."""
        if len(objects) == 1 and isinstance(objects[0], Table) and objects[0].title:
            table = copy.copy(objects[0])
            title, table.title = table.title, None
            super().print(title, markup=False, highlight=False)
            objects = (table,)
        super().print(*objects, **options)


#: No emoji codes: rich turned a fingerprint's ``:AB:`` into an emoji, in the very string an
#: operator compares out of band (and ``:ok:`` in any path or label likewise).
console = UnwrappedConsole(emoji=False)
errors = UnwrappedConsole(stderr=True, emoji=False)


class Interrupted(Exception):
    """The user stopped a command (Ctrl-C); ``kept`` says plainly what was saved."""

    def __init__(self, kept: str) -> None:
        self.kept = kept
        super().__init__(f"interrupted: {kept}")


def clean_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Errors a user can cause, and a write the system refuses (a full disk): one clear line on
    stderr, exit 2. Ctrl-C: what was kept, exit 130. Standard output's reader gone: nothing
    said, exit 141. Anything else is a bug and keeps its traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FedsecError as error:
            errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except BrokenPipeError:  # standard output's reader left (| head): stop, say nothing
            standard_streams.quiet_after_reader_left()
            raise typer.Exit(standard_streams.EXIT_READER_LEFT) from None
        except OSError as error:  # a full disk is the machine's state, never a bug
            if error.errno not in atomic.REFUSED:
                raise
            errors.print(f"[bold red]error:[/] {escape(refused_write(error))}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except Interrupted as stop:
            errors.print(f"[bold yellow]interrupted:[/] {escape(stop.kept)}", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:
            errors.print(
                "[bold yellow]interrupted:[/] nothing was kept (no output is written until "
                "a step completes)",
                highlight=False,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def check_not_an_input(inputs: list[Path], target: Path, option: str, why: str) -> None:
    """``target`` is none of ``inputs`` (by any name: a link, another path to it)."""
    for path in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, target):
                raise typer.BadParameter(f"{target} is the file {path}: {why}", param_hint=option)


def check_apart(
    folder: Path,
    option: str,
    others: dict[str, Path | None],
    why: str = "the outputs of one run stay apart",
) -> None:
    """The report folder ``folder`` (given as ``option``) is none of ``others`` (option: path,
    outputs of the same run, or what it reads: say so in ``why``), holds none of them and lies
    in none: each command refuses a folder holding files it did not write, so one would
    refuse the other after the scan."""
    mine = Path(folder).resolve()
    for other_option, target in others.items():
        if target is None:
            continue
        other = Path(target).resolve()
        if other == mine:
            where = f"is the {other_option} path"
        elif mine in other.parents:
            where = f"holds {other_option} {target}"
        elif other in mine.parents:
            where = f"lies inside {other_option} {target}"
        else:
            continue
        raise typer.BadParameter(
            f"{folder} {where}: {why}; choose another path (nothing was written)",
            param_hint=option,
        )


def check_spares_what_is_read(read: list[Path], targets: dict[str, Path | None]) -> None:
    """No output of ``targets`` (option: path) replaces a file the run reads besides its
    telemetry (``read``: a model's files, a mapping, trusted keys), ``--force`` or not."""
    for option, target in targets.items():
        if target is not None:
            check_not_an_input(read, target, option, "the run reads it")


def files_of(path: Path) -> list[Path]:
    """The files directly in folder ``path`` (a model bundle's), or ``path`` itself."""
    if not path.is_dir():
        return [path]
    with contextlib.suppress(OSError):
        return [p for p in path.iterdir() if p.is_file()]
    return []


def check_distinct_inputs(inputs: list[Path], option: str = "--input") -> None:
    """No file given twice (by any name: a repeated glob, a link): its rows would be scored
    and counted twice."""
    seen: dict[tuple[int, int], Path] = {}
    for path in inputs:
        with contextlib.suppress(OSError):
            status = os.stat(path)
            if not stat.S_ISREG(status.st_mode):
                continue
            key = (status.st_dev, status.st_ino)
            if key in seen:
                shown = path if str(path) == str(seen[key]) else f"{path} (as {seen[key]})"
                raise typer.BadParameter(
                    f"{shown} is given twice: its rows would be scored and counted twice",
                    param_hint=option,
                )
            seen[key] = path


def refused_write(error: OSError) -> str:
    """A write the system refused, in words (the file, where the system named it)."""
    where = f"{error.filename}: cannot be written" if error.filename else "a write was refused"
    return f"{where}: {atomic.why(error)}"


def progress_bar(out: Console = errors) -> Progress:
    """A rich progress bar (terminals only: piped output prints plain lines instead)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    )


class LiveDisplay:
    """A rich display (``rich``; None when not a terminal) shown while its owner is entered."""

    rich: Progress | None

    def __enter__(self) -> Self:
        if self.rich is not None:
            self.rich.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.rich is not None:
            self.rich.__exit__(*exc)


class RoundProgress(LiveDisplay):
    """Rounds done per task (an arm): bars on a terminal, plain throttled lines otherwise."""

    def __init__(self, out: Console = errors, every: float = PLAIN_EVERY_S) -> None:
        self.out, self.every = out, every
        self.bars = out.is_terminal
        self.started = time.monotonic()
        self.done: dict[str, int] = {}
        self.total: dict[str, int] = {}
        self.last: dict[str, float] = {}
        self.rich = progress_bar(out) if self.bars else None
        self.tasks: dict[str, Any] = {}

    def add(self, name: str, total: int) -> None:
        self.done[name], self.total[name] = 0, total
        if self.rich is not None:
            self.tasks[name] = self.rich.add_task(name, total=total)

    def advance(self, name: str) -> None:
        self.done[name] += 1
        if self.rich is not None:
            self.rich.advance(self.tasks[name])
            return
        now, done, total = time.monotonic(), self.done[name], self.total[name]
        if done == 1 or done == total or now - self.last.get(name, 0.0) >= self.every:
            self.last[name] = now
            elapsed = now - self.started
            self.out.print(
                f"{name}: round {done}/{total} ({elapsed:.0f} s elapsed)",
                highlight=False,
                markup=False,
            )


class ScanProgress(LiveDisplay):
    """Rows scored so far, as ``fedsec detect`` goes through its input: one live line on a
    terminal (gone when the scan ends), otherwise a plain line at most every ``every``
    seconds (default :data:`PLAIN_EVERY_S`; a scan shorter than that prints none)."""

    def __init__(self, what: str, out: Console = errors, every: float | None = None) -> None:
        self.what, self.out = what, out
        self.every = PLAIN_EVERY_S if every is None else every
        self.started = self.last = time.monotonic()
        self.rich: Progress | None = None
        if out.is_terminal:
            columns = (TextColumn("{task.description}"), TimeElapsedColumn())
            self.rich = Progress(*columns, console=out, transient=True)
            self.task = self.rich.add_task(what, total=None)

    def __call__(self, rows: int, alerts: int) -> None:
        self._show(self.what, rows, alerts)

    def _show(self, what: str, rows: int, alerts: int) -> None:
        now = time.monotonic()
        rate = rows / max(now - self.started, 1e-9)
        line = f"{what}: {rows:,} rows scored, {alerts:,} alerts ({rate:,.0f} rows/s"
        if self.rich is not None:
            self.rich.update(self.task, description=line + ")")
        elif now - self.last >= self.every:
            self.last = now
            elapsed = now - self.started
            self.out.print(f"{line}, {elapsed:.0f} s elapsed)", highlight=False, markup=False)


def run_arms(arms: list[str], rounds: int, run: Callable[[Callable[[str], None]], Any]) -> Any:
    """``run(tick)`` with one progress task per arm, ``tick(arm)`` once per round."""
    with RoundProgress() as progress:
        for arm in arms:
            progress.add(arm, rounds)
        return run(progress.advance)


def quiet_libraries() -> None:
    """Keep library chatter off the console: opacus' and torch's DP warnings, NVFlare's and
    matplotlib's INFO logs (NVFlare's own processes still write their log files)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("opacus", "nvflare"):
        warnings.filterwarnings("ignore", module=module)
    warnings.filterwarnings("ignore", message=".*backward hook")  # torch, about Opacus' hooks


def finish_run(
    target: Path, metrics: dict, what: str = "run directory", latest: bool = True
) -> None:
    """Say where the run is; point runs/latest at a complete run (``latest``: a run with a
    model; a sweep's folder holds none); an interrupted run ends with exit 130 after saying
    what it kept."""
    incomplete = metrics.get("incomplete")
    if incomplete:
        raise Interrupted(
            f"kept the finished arms ({', '.join(incomplete['finished_arms'])}) in {target}, "
            f"marked incomplete; not finished: {', '.join(incomplete['missing_arms'])}"
        )
    pointer = ""
    if latest and outputs.in_runs(target):
        pointer = f" ({outputs.point_latest(target)} points here)"
    console.print(f"{what}: [bold]{escape(str(target))}[/]{pointer}")


def telemetry_inputs(paths: list[Path], fmt: str, *, follow: bool = False) -> list[Path]:
    """The files ``paths`` stand for, each folder replaced by the files in it that ``fmt``
    reads (which, and how many were skipped, said on standard error). ``--follow`` follows
    files as they grow, not the new files of a folder: a folder is refused with it."""
    from fedsec.data.input_folders import expand_folders

    folders = [path for path in paths if path.is_dir()]
    if follow and folders:
        raise typer.BadParameter(
            f"{folders[0]} is a folder: --follow follows files as they grow, not the files a "
            "folder gains; give the file(s) to follow (say, FOLDER/conn.log)",
            param_hint="--input",
        )
    expanded, found = expand_folders(paths, fmt)
    for folder in found:
        errors.print(escape(folder.describe()), highlight=False)
    return expanded

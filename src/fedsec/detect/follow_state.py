"""``fedsec detect --follow --state FILE``: where the followed file was read up to, kept after
every batch, so that a restart (a service restarted, a machine rebooted) resumes after the last
scored line instead of scoring the whole file again or missing what was written meanwhile.

The state names the followed file (path, device, inode), the bytes read through the last scored
line, the data rows before it, the header in force (a CSV's first line, a Zeek log's ``#``
block) and the alerts file with its size then. It is written atomically after the batch's
alerts are flushed and synced, so on a restart the alerts file is cut back to that size
(alerts of a batch whose position was not kept, a last line cut short by a crash) and those
lines are scored again: each alert is in the file exactly once. Alerts sent to standard output
cannot be taken back: after a crash, the batch scored but not yet kept is sent again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fedsec.core import atomic
from fedsec.core.errors import InputError, parse_problem

FORMAT = "fedsec-follow-state"
VERSION = 1


@dataclass(frozen=True)
class Position:
    """Where a followed file was read up to, and the alerts file's size then."""

    input: str  # the followed file, absolute
    device: int
    inode: int
    offset: int  # bytes through the last scored line
    rows: int  # data rows before it
    header: list[str]  # the header lines in force (bytes as latin-1 text)
    in_data: bool  # a Zeek log: past its header block
    out: str  # the alerts file, absolute, or "-"
    alerts_bytes: int  # the alerts file's size after the last scored line's alerts


FIELDS: dict[str, type | tuple[type, ...]] = {
    "input": str,
    "device": int,
    "inode": int,
    "offset": int,
    "rows": int,
    "header": list,
    "in_data": bool,
    "out": str,
    "alerts_bytes": int,
}


def load(state: Path) -> Position | None:
    """The position kept in ``state``; None when there is none yet."""
    try:
        text = state.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(state, f"cannot be read as a follow state: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(state, f"is not a follow state (corrupt JSON: {error})") from None
    except (ValueError, RecursionError) as error:  # a state file edited to hostile JSON
        raise InputError(state, f"is not a follow state ({parse_problem(error)})") from None
    return _position(state, document)


def _position(state: Path, document: Any) -> Position:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(state, f'is not a follow state (no "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise InputError(state, f"follow state version {document.get('version')!r} unsupported")
    for name, kind in FIELDS.items():
        value = document.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InputError(state, f"follow state field {name!r} is missing or not a {kind}")
    header = document["header"]
    if not all(isinstance(line, str) for line in header):
        raise InputError(state, "follow state field 'header' must list text lines")
    if min(document["offset"], document["rows"], document["alerts_bytes"]) < 0:
        raise InputError(state, "follow state holds a negative offset, row count or size")
    return Position(**{name: document[name] for name in FIELDS})


def save(state: Path, position: Position) -> None:
    """``position`` kept in ``state`` (atomically: the old position or the new one)."""
    atomic.write_json(state, {"format": FORMAT, "version": VERSION, **asdict(position)})


def absolute(path: Path | str) -> str:
    """``path`` as the state names it: absolute (``-`` as is)."""
    return str(path) if str(path) == "-" else os.path.abspath(path)


def check_matches(state: Path, position: Position, followed: Path, out: Path) -> None:
    """The kept position is that of this file and this alerts file."""
    if position.input != absolute(followed):
        raise InputError(
            state, f"keeps the position in {position.input}, not in {absolute(followed)}"
        )
    if position.out != absolute(out):
        raise InputError(
            state, f"keeps the position of alerts file {position.out}, not of {absolute(out)}"
        )

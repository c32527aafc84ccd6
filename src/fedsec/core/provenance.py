"""What a finding was made from, recorded so it can be defended later: each file read, by its
absolute path, size and SHA-256 (and, for line files, its lines).

No time of the run is recorded: two runs over the same files give the same record, so the
outputs holding it (``incidents.json``, ``hunt.json``) stay byte-reproducible.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from fedsec.core.errors import InputError
from fedsec.core.standard_streams import is_standard_input

READ_BYTES = 1 << 20


def file_record(path: Path, *, lines: bool = False) -> dict[str, Any]:
    """``path``'s absolute path, bytes and SHA-256; with ``lines``, its lines too (a last line
    without its newline counts). Standard input (``-``) is no file: named, not hashed."""
    if is_standard_input(path):
        return {"path": "-", "sha256": None}
    digest, size, newlines, last = hashlib.sha256(), 0, 0, b"\n"
    try:
        with open(path, "rb") as handle:
            while block := handle.read(READ_BYTES):
                digest.update(block)
                size, newlines, last = size + len(block), newlines + block.count(b"\n"), block
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror or error}") from None
    record: dict[str, Any] = {
        "path": os.path.abspath(path),
        "bytes": size,
        "sha256": digest.hexdigest(),
    }
    if lines:
        record["lines"] = newlines + (not last.endswith(b"\n"))
    return record

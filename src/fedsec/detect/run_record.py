"""``fedsec detect --provenance FILE``: what one run scanned and with what, written once at its
end, so its alerts can be defended later: each input file's absolute path, bytes and SHA-256
(hashed before the scan), the model (bundle sha256, kind, signer's fingerprint, whether it was
trusted), the fedsec version, the alerts file (and rejects file) as written, and the counts.

A per-alert hash of the input would cost a read of the file per alert file line, and a stream
has none: the run hashes each input once, here. No time of the run is in it (the alerts carry
``event.created``). A pipe (``-`` for standard input, or a named pipe's absolute path) is read
once, as it comes: its bytes are hashed as they are read (:class:`fedsec.detect.tails.PipeTail`,
no second read, nothing held) and its record gives the bytes read and their SHA-256, those the
alerts were scored from. A file followed as it grows has no one hash: refused with
``--follow``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedsec import __version__
from fedsec.bundles.bundle import MANIFEST, bundle_kind, load_manifest
from fedsec.core import atomic
from fedsec.core.provenance import file_record
from fedsec.core.standard_streams import is_pipe, is_standard_input
from fedsec.detect.records import DetectionSummary


def scanned(inputs: Sequence[Path]) -> list[dict[str, Any]]:
    """Each input as it is before the scan (a pipe: named, its bytes and hash still to come:
    :func:`as_read`)."""
    return [_pipe_record(p) if is_pipe(p) else file_record(p) for p in inputs]


def _pipe_record(path: Path) -> dict[str, Any]:
    named = "-" if is_standard_input(path) else os.path.abspath(path)
    return {"path": named, "pipe": True, "bytes": None, "sha256": None}


def as_read(inputs: list[dict[str, Any]], summary: DetectionSummary) -> list[dict[str, Any]]:
    """The inputs, a pipe's with the bytes the run read from it and their SHA-256 (a pipe is
    scored alone: the run's one input)."""
    return [{**entry, **(summary.piped or {})} if entry.get("pipe") else entry for entry in inputs]


def write_run_record(
    path: Path,
    model_dir: Path,
    inputs: list[dict[str, Any]],
    out: Path,
    summary: DetectionSummary,
    rejects: Path | None = None,
) -> None:
    """The run's record into ``path`` (atomically)."""
    authenticity = summary.authenticity
    manifest = Path(model_dir) / MANIFEST
    record = {
        "fedsec_version": __version__,
        "model": {
            "path": os.path.abspath(model_dir),
            "sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
            "kind": bundle_kind(load_manifest(Path(model_dir))),
            "signer": authenticity.fingerprint if authenticity is not None else None,
            "trusted": authenticity.trusted if authenticity is not None else None,
        },
        "inputs": as_read(inputs, summary),
        "alerts": file_record(out, lines=True),
        "rejects": file_record(rejects, lines=True) if rejects and rejects.exists() else None,
        "rows": summary.rows,
        "alert_count": summary.alerts,
    }
    atomic.write_json(path, record)

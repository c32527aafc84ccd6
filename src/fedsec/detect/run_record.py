"""``fedsec detect --provenance FILE``: what one run scanned and with what, written once at its
end, so its alerts can be defended later: each input file's absolute path, bytes and SHA-256
(hashed before the scan), the model (bundle sha256, kind, signer's fingerprint, whether it was
trusted), the fedsec version, the alerts file (and rejects file) as written, and the counts.

A per-alert hash of the input would cost a read of the file per alert file line, and a stream
has none: the run hashes each input once, here. No time of the run is in it (the alerts carry
``event.created``). A pipe is named ``-``, not hashed (it is read once, as it comes); a file
followed as it grows has no one hash: refused with ``--follow``.
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
from fedsec.core.standard_streams import is_pipe
from fedsec.detect.records import DetectionSummary


def scanned(inputs: Sequence[Path]) -> list[dict[str, Any]]:
    """Each input as it is before the scan (a pipe: named, not hashed)."""
    return [{"path": "-", "sha256": None} if is_pipe(p) else file_record(p) for p in inputs]


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
        "inputs": inputs,
        "alerts": file_record(out, lines=True),
        "rejects": file_record(rejects, lines=True) if rejects and rejects.exists() else None,
        "rows": summary.rows,
        "alert_count": summary.alerts,
    }
    atomic.write_json(path, record)

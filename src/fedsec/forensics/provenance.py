"""``incidents.json``'s ``provenance``: what the findings were made from, so an analyst can tie
them to their inputs later: each alert file read (absolute path, bytes, SHA-256, lines), the
fedsec version, and the models the alerts name (``fedsec.model``: the bundle's sha256, kind and
signer's fingerprint, as ``fedsec detect`` writes them) with how many alerts each raised.

No time of the run: the same alert files give the same block, byte for byte (``incidents.json``
is reproducible). Standard input (``-``) is read once, by the alerts' reader: it is named,
neither hashed nor searched for models.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fedsec import __version__
from fedsec.core.errors import InputError
from fedsec.core.standard_streams import is_standard_input

#: ``fedsec.model`` as ``fedsec detect`` writes it (ECS and EVE alike).
MODEL = re.compile(
    rb'"model": \{"sha256": "([0-9a-f]{64})", "kind": "([^"\\]*)"(?:, "signer": "([^"\\]*)")?\}'
)
#: A model as counted: (sha256, kind, signer).
Model = tuple[str, str | None, str | None]


def provenance(alert_files: Sequence[Path]) -> dict[str, Any]:
    """The fedsec version, each alert file read and the models its alerts name."""
    files, models = [], Counter[Model]()
    for path in alert_files:
        record, named = _read(Path(path))
        files.append(record)
        models.update(named)
    return {
        "fedsec_version": __version__,
        "alert_files": files,
        "models": [
            {"sha256": sha256, "kind": kind, "signer": signer, "alerts": count}
            for (sha256, kind, signer), count in sorted(models.items(), key=_order)
        ],
    }


def _order(item: tuple[Model, int]) -> tuple[int, str]:
    (sha256, _, signer), count = item
    return -count, f"{sha256}{signer or ''}"


def _read(path: Path) -> tuple[dict[str, Any], Counter[Model]]:
    """The file's record (as stored: a ``.gz`` file's own bytes; its lines, decompressed) and
    the models its lines name."""
    if is_standard_input(path):
        return {"path": "-", "sha256": None}, Counter()
    digest, size, lines, models = hashlib.sha256(), 0, 0, Counter[Model]()
    try:
        with open(path, "rb") as raw:
            for line in _lines(path, raw, digest):
                lines += 1
                model = _model(line)
                if model is not None:
                    models[model] += 1
            size = raw.tell()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(path, f"cannot read: {error}") from None
    record = {"path": os.path.abspath(path), "bytes": size, "sha256": digest.hexdigest()}
    return {**record, "lines": lines}, models


def _lines(path: Path, raw: Any, digest: Any) -> Iterator[bytes]:
    """The file's lines, its stored bytes hashed into ``digest`` as they are read."""
    hashed = _Hashed(raw, digest)
    stream = gzip.GzipFile(fileobj=hashed) if path.suffix == ".gz" else hashed
    for line in stream:
        if line.strip():
            yield line
    hashed.drain()


class _Hashed:
    """A binary file whose bytes are hashed as they are read."""

    def __init__(self, raw: Any, digest: Any) -> None:
        self.raw, self.digest = raw, digest

    def read(self, size: int = -1) -> bytes:
        block = self.raw.read(size)
        self.digest.update(block)
        return block

    def __iter__(self) -> Iterator[bytes]:
        while line := self.raw.readline():
            self.digest.update(line)
            yield line

    def drain(self) -> None:
        """Hash what a reader left unread (bytes after a gzip stream's end)."""
        while self.read(1 << 20):
            pass


def _model(line: bytes) -> Model | None:
    """The model a line names: as ``fedsec detect`` writes it, else read from its JSON (a
    SIEM's export: other spacing, dotted keys); None for a line naming none (flat alerts)."""
    found = MODEL.search(line)
    if found is not None:
        signer = found[3].decode() if found[3] is not None else None
        return found[1].decode(), found[2].decode(), signer
    if b"sha256" not in line:
        return None
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):  # (nesting too deep for Python's parser)
        return None  # the alerts' reader names what is wrong with it
    return _named(document) if isinstance(document, dict) else None


def _named(document: dict) -> Model | None:
    custom = document.get("fedsec", {})
    model = custom.get("model", {}) if isinstance(custom, dict) else {}
    if not isinstance(model, dict):
        model = {}
    sha256 = model.get("sha256", document.get("fedsec.model.sha256"))
    if not isinstance(sha256, str):
        return None
    kind = model.get("kind", document.get("fedsec.model.kind"))
    signer = model.get("signer", document.get("fedsec.model.signer"))
    return (
        sha256,
        kind if isinstance(kind, str) else None,
        signer if isinstance(signer, str) else None,
    )

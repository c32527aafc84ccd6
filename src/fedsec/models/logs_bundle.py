"""Bundles of the DeepLog model (``kind = "deeplog"``): the same layout and checks as every
fedsec bundle (``weights.safetensors`` + ``bundle.json`` with the weights' sha256; nothing is
ever unpickled). The manifest holds the architecture, the vocabulary's hash settings, the sorted
hashed tokens the model knows (never template text), per-organization ``top_k`` and, per
organization, the namespace of event ids that have no template text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from fedsec import __version__, atomic
from fedsec.errors import BundleError
from fedsec.features.vocabulary import EventVocabulary
from fedsec.learning.params import param_names
from fedsec.models.bundle import FORMAT, MANIFEST, VERSION, WEIGHTS, load_manifest, verified_weights
from fedsec.models.deeplog import DeepLogDetector, DeepLogSpec, build_deeplog

KIND = "deeplog"


def save_log_bundle(
    directory: Path,
    model: DeepLogDetector,
    provenance: dict[str, Any],
    namespaces: dict[str, str],
) -> Path:
    """Write the bundle atomically (a complete new directory replaces any old one)."""
    names = param_names(build_deeplog(model.spec))
    weights = save(
        {
            name: np.ascontiguousarray(p, dtype=np.float32)
            for name, p in zip(names, model.params, strict=True)
        }
    )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "kind": KIND,
        "fedsec_version": __version__,
        "architecture": model.spec.to_json(),
        "vocabulary": model.vocabulary.to_json(),
        "index": [int(t) for t in model.index],
        "end_token": model.end_token,
        "top_k": {k: int(v) for k, v in model.top_k.items()},
        "namespaces": dict(namespaces),
        "provenance": provenance,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    with atomic.directory(Path(directory)) as staging:
        (staging / WEIGHTS).write_bytes(weights)
        atomic.write_json(staging / MANIFEST, manifest)
    return Path(directory)


def bundle_kind(directory: Path) -> str:
    return str(load_manifest(directory).get("kind", "family-classifier"))


def load_log_bundle(directory: Path) -> tuple[DeepLogDetector, dict[str, Any]]:
    """Load and verify a DeepLog bundle; any inconsistency is a :class:`BundleError`."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    if manifest.get("kind") != KIND:
        raise BundleError(f"{directory}: a {manifest.get('kind')!r} bundle, not a {KIND} bundle")
    weights_path = verified_weights(directory, manifest)
    try:
        tensors = load_file(weights_path)
        spec = DeepLogSpec.from_json(manifest["architecture"])
        params = [tensors[name] for name in param_names(build_deeplog(spec))]
        model = DeepLogDetector(
            spec,
            params,
            EventVocabulary.from_json(manifest["vocabulary"]),
            np.asarray(manifest["index"], np.int64),
            end_token=bool(manifest["end_token"]),
            top_k={str(k): int(v) for k, v in manifest["top_k"].items()},
        )
        model.module()
        if not isinstance(manifest.get("namespaces"), dict):
            raise ValueError("namespaces must be a table")
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as error:
        raise BundleError(f"{directory}: inconsistent bundle: {error!r}") from error
    return model, manifest

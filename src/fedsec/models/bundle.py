"""Model bundles: ``weights.safetensors`` + ``bundle.json``. Loading never unpickles anything.

The JSON carries the architecture, feature schema, preprocessing statistics, label map,
per-organization thresholds, training provenance and the sha256 of the weights, which is checked
before the weights are used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from fedsec import __version__, atomic
from fedsec.errors import BundleError
from fedsec.features.preprocess import Preprocessor
from fedsec.learning.params import param_names
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp import MLPSpec, build_mlp

FORMAT = "fedsec-bundle"
VERSION = 1
WEIGHTS = "weights.safetensors"
MANIFEST = "bundle.json"


def save_bundle(directory: Path, model: FamilyClassifier, provenance: dict[str, Any]) -> Path:
    """Write the bundle atomically (a complete new directory replaces any old one)."""
    names = param_names(build_mlp(model.spec))
    tensors = {
        name: np.ascontiguousarray(p, dtype=np.float32)
        for name, p in zip(names, model.params, strict=True)
    }
    weights = save(tensors)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "family-classifier",
        "fedsec_version": __version__,
        "architecture": model.spec.to_json(),
        "feature_view": model.view,
        "preprocessing": model.preprocessor.to_json(),
        "classes": list(model.classes),
        "decision": model.decision,
        "thresholds": dict(model.thresholds),
        "provenance": provenance,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    with atomic.directory(Path(directory)) as staging:
        (staging / WEIGHTS).write_bytes(weights)
        atomic.write_json(staging / MANIFEST, manifest)
    return Path(directory)


def load_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not Path(directory).is_dir():
        raise BundleError(f"{directory}: model bundle directory not found")
    if not path.is_file():
        raise BundleError(f"{path}: missing (not a fedsec model bundle)")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BundleError(f"{path}: corrupt JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: not a fedsec model bundle (format field)")
    if manifest.get("version") != VERSION:
        raise BundleError(f"{path}: bundle version {manifest.get('version')} unsupported")
    return manifest


def verified_weights(directory: Path, manifest: dict[str, Any]) -> Path:
    """The bundle's weights file, once its sha256 matches the manifest."""
    weights_path = Path(directory) / WEIGHTS
    if not weights_path.is_file():
        raise BundleError(f"{weights_path}: missing")
    data = weights_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest.get("weights_sha256"):
        raise BundleError(f"{weights_path}: sha256 does not match bundle.json (corrupt or altered)")
    return weights_path


def load_bundle(directory: Path) -> tuple[FamilyClassifier, dict[str, Any]]:
    """Load and verify a bundle; any inconsistency is a :class:`BundleError` naming the file."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    kind = manifest.get("kind", "family-classifier")
    if kind != "family-classifier":
        raise BundleError(f"{directory}: a {kind!r} bundle, not a family-classifier bundle")
    weights_path = verified_weights(directory, manifest)
    try:
        tensors = load_file(weights_path)
        spec = MLPSpec.from_json(manifest["architecture"])
        names = param_names(build_mlp(spec))
        params = [tensors[name] for name in names]
        model = FamilyClassifier(
            spec=spec,
            params=params,
            preprocessor=Preprocessor.from_json(manifest["preprocessing"]),
            classes=[str(c) for c in manifest["classes"]],
            view=str(manifest["feature_view"]),
            thresholds={str(k): float(v) for k, v in manifest["thresholds"].items()},
            decision=str(manifest["decision"]),
        )
        model.module()
    except (KeyError, TypeError, ValueError, SafetensorError) as error:
        raise BundleError(f"{directory}: inconsistent bundle: {error!r}") from error
    if spec.outputs != len(model.classes):
        raise BundleError(f"{directory}: {spec.outputs} outputs but {len(model.classes)} classes")
    if spec.inputs != model.preprocessor.width:
        raise BundleError(f"{directory}: input width does not match the preprocessing schema")
    return model, manifest

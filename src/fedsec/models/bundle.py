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
from fedsec.models.anomaly import AnomalyDetector, build_network, spec_from_json
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp import MLPSpec, build_mlp

FORMAT = "fedsec-bundle"
VERSION = 1
WEIGHTS = "weights.safetensors"
MANIFEST = "bundle.json"
CLASSIFIER_KIND = "family-classifier"
ANOMALY_KIND = "anomaly-detector"


def write_bundle(
    directory: Path, kind: str, names: list[str], params: list[np.ndarray], fields: dict[str, Any]
) -> Path:
    """Every bundle kind's layout, written atomically: safetensors weights and a manifest with
    the format, version, kind, fedsec version, the kind's ``fields`` and the weights' sha256."""
    weights = save(
        {
            name: np.ascontiguousarray(p, dtype=np.float32)
            for name, p in zip(names, params, strict=True)
        }
    )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "fedsec_version": __version__,
        **fields,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    with atomic.directory(Path(directory)) as staging:
        (staging / WEIGHTS).write_bytes(weights)
        atomic.write_json(staging / MANIFEST, manifest)
    return Path(directory)


def manifest_of_kind(directory: Path, kind: str) -> dict[str, Any]:
    """The manifest of a bundle that must be of ``kind`` (clear error otherwise)."""
    manifest = load_manifest(directory)
    if bundle_kind(manifest) != kind:
        raise BundleError(f"{directory}: a {bundle_kind(manifest)!r} bundle, not a {kind!r} one")
    return manifest


def save_bundle(directory: Path, model: FamilyClassifier, provenance: dict[str, Any]) -> Path:
    """Write the classifier's bundle atomically (a complete new directory replaces any old one)."""
    return write_bundle(
        directory,
        CLASSIFIER_KIND,
        param_names(build_mlp(model.spec)),
        model.params,
        {
            "architecture": model.spec.to_json(),
            "feature_view": model.view,
            "preprocessing": model.preprocessor.to_json(),
            "classes": list(model.classes),
            "decision": model.decision,
            "thresholds": dict(model.thresholds),
            "provenance": provenance,
        },
    )


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


def verified_tensors(directory: Path, kind: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A bundle of ``kind``: its manifest and its weights, once their sha256 matches."""
    manifest = manifest_of_kind(directory, kind)
    path = verified_weights(directory, manifest)
    try:
        return manifest, load_file(path)
    except SafetensorError as error:
        raise BundleError(f"{path}: unreadable weights: {error}") from error


def load_bundle(directory: Path) -> tuple[FamilyClassifier, dict[str, Any]]:
    """Load and verify a bundle; any inconsistency is a :class:`BundleError` naming the file."""
    directory = Path(directory)
    manifest, tensors = verified_tensors(directory, CLASSIFIER_KIND)
    try:
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


def bundle_kind(manifest: dict[str, Any]) -> str:
    """What a bundle holds; bundles written before kinds existed are classifiers."""
    return str(manifest.get("kind", CLASSIFIER_KIND))


def save_anomaly_bundle(
    directory: Path, model: AnomalyDetector, provenance: dict[str, Any]
) -> Path:
    """An anomaly detector's bundle: network, preprocessing, error scale, per-org thresholds."""
    return write_bundle(
        directory,
        ANOMALY_KIND,
        param_names(build_network(model.spec)),
        model.params,
        {
            "architecture": model.spec.to_json(),
            "feature_view": model.view,
            "preprocessing": model.preprocessor.to_json(),
            "score": {
                "scale": [float(v) for v in model.scale],
                "center": None if model.center is None else [float(c) for c in model.center],
            },
            "thresholds": {k: float(v) for k, v in model.thresholds.items()},
            "provenance": provenance,
        },
    )


def load_anomaly_bundle(directory: Path) -> tuple[AnomalyDetector, dict[str, Any]]:
    """Load and verify an anomaly bundle; any inconsistency is a :class:`BundleError`."""
    directory = Path(directory)
    manifest, tensors = verified_tensors(directory, ANOMALY_KIND)
    try:
        spec = spec_from_json(manifest["architecture"])
        score = manifest["score"]
        center = score["center"]
        model = AnomalyDetector(
            spec=spec,
            params=[tensors[name] for name in param_names(build_network(spec))],
            preprocessor=Preprocessor.from_json(manifest["preprocessing"]),
            view=str(manifest["feature_view"]),
            scale=np.asarray(score["scale"], dtype=np.float32),
            center=None if center is None else tuple(float(c) for c in center),
            thresholds={str(k): float(v) for k, v in manifest["thresholds"].items()},
        )
        model.module()
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{directory}: inconsistent bundle: {error!r}") from error
    _check_anomaly(directory, model)
    return model, manifest


def _check_anomaly(directory: Path, model: AnomalyDetector) -> None:
    width = model.preprocessor.width
    if model.spec.inputs != width:
        raise BundleError(f"{directory}: input width does not match the preprocessing schema")
    if model.scale.shape != ((width,) if model.kind == "ae" else (1,)):
        raise BundleError(f"{directory}: score scale has {model.scale.shape} values")
    if not (np.isfinite(model.scale).all() and (model.scale > 0).all()):
        raise BundleError(f"{directory}: score scale must be finite and positive")
    if (model.kind == "svdd") != (model.center is not None):
        raise BundleError(f"{directory}: a Deep SVDD bundle needs a centre (and only it)")
    if model.center is not None and len(model.center) != model.spec.embedding:
        raise BundleError(f"{directory}: centre does not match the embedding size")
    if not all(np.isfinite(v) for v in model.thresholds.values()):
        raise BundleError(f"{directory}: thresholds must be finite numbers")

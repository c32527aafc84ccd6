"""Model bundles: ``weights.safetensors`` + ``bundle.json`` + ``bundle.sig``. Loading never
unpickles anything.

The JSON carries the architecture, feature schema, preprocessing statistics, label map,
per-organization thresholds, training provenance and the sha256 of the weights; ``bundle.sig``
signs all of it (:mod:`fedsec.bundles.signing`). Opening a bundle checks, in this order and
before any tensor is read: the signature and whether its signer is trusted, every manifest
field against its type and range (:mod:`fedsec.bundles.manifest`, which also bounds the
network's size), the weights' size and sha256, and each tensor's name, dtype and shape in the
weights file's header; then the tensors are read and must be finite. A classifier bundle loads
as a :class:`~fedsec.models.family.FamilyScorer`, without importing torch; the other kinds'
loaders (:mod:`fedsec.bundles.anomaly_bundle`, ``logs_bundle``, ``tree_bundle``) build on
this module.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save

from fedsec import __version__
from fedsec.bundles.fields import CLASSIFIER_KIND, WEIGHTS
from fedsec.bundles.keys import default_signer, user_trust
from fedsec.bundles.manifest import (
    ClassifierManifest,
    Header,
    expected_shapes,
    parse_envelope,
    parse_manifest,
)
from fedsec.bundles.signing import HOW_TO_TRUST, Authenticity, Signer, Trust, signature_block
from fedsec.core import atomic
from fedsec.core.errors import BundleError, parse_problem
from fedsec.models.family import FamilyScorer

FORMAT = "fedsec-bundle"
VERSION = 1
MANIFEST = "bundle.json"
SIGNATURE = "bundle.sig"
#: Largest ``bundle.json`` / ``bundle.sig`` read (a manifest lists feature names, not data).
MAX_MANIFEST_BYTES = 64 << 20
MAX_SIGNATURE_BYTES = 1 << 20
#: Room for the safetensors header beyond 4 bytes per parameter.
HEADER_ALLOWANCE = 1 << 20


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle whose signature, manifest and weights all passed their checks."""

    directory: Path
    manifest: dict[str, Any]
    typed: Header  # the kind's typed manifest (fedsec.bundles.manifest)
    tensors: list[np.ndarray]  # in the network's parameter order (none for a tree bundle)
    authenticity: Authenticity
    payload: bytes = b""  # a tree bundle's verified booster file (nothing for a network)


def write_bundle(
    directory: Path,
    kind: str,
    names: list[str],
    params: list[np.ndarray],
    fields: dict[str, Any],
    signer: Signer | None = None,
) -> Path:
    """Every bundle kind's layout, written atomically: safetensors weights, a manifest with
    the format, version, kind, fedsec version, the kind's ``fields`` and the weights' sha256,
    and its signature by ``signer`` (default: the user's signing key). The manifest is checked
    exactly as a reader will check it before anything is written."""
    weights = save(
        {
            name: np.ascontiguousarray(p, dtype=np.float32)
            for name, p in zip(names, params, strict=True)
        }
    )
    return write_signed(directory, kind, weights, fields, signer)


def write_signed(
    directory: Path, kind: str, payload: bytes, fields: dict[str, Any], signer: Signer | None
) -> Path:
    """A bundle of ``kind`` holding ``payload`` as the kind's model file (its sha256 in the
    manifest), the manifest and its signature, written atomically."""
    digest = hashlib.sha256(payload).hexdigest()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "fedsec_version": __version__,
        **fields,
        "weights_sha256": digest,
    }
    manifest = json.loads(json.dumps(manifest, allow_nan=False))  # exactly what readers see
    typed = parse_manifest(manifest, kind, directory)
    signature = signature_block(manifest, digest, signer or default_signer())
    with atomic.directory(Path(directory)) as staging:
        (staging / typed.payload_file).write_bytes(payload)
        atomic.write_json(staging / MANIFEST, manifest)
        atomic.write_json(staging / SIGNATURE, signature)
    return Path(directory)


def save_bundle(
    directory: Path,
    model: FamilyScorer,
    provenance: dict[str, Any],
    signer: Signer | None = None,
) -> Path:
    """Write the classifier's bundle atomically (a complete new directory replaces any old one)."""
    return write_bundle(
        directory,
        CLASSIFIER_KIND,
        list(model.spec.tensor_shapes()),
        model.get_weights(),
        {
            "architecture": model.spec.to_json(),
            "feature_view": model.view,
            "preprocessing": model.preprocessor.to_json(),
            "classes": list(model.classes),
            "decision": model.decision,
            "thresholds": dict(model.thresholds_),
            "provenance": provenance,
        },
        signer,
    )


def load_manifest(directory: Path) -> dict[str, Any]:
    """``bundle.json`` as JSON, NOT verified: only :func:`open_bundle` says it can be used."""
    path = Path(directory) / MANIFEST
    if Path(directory).exists() and not Path(directory).is_dir():
        raise BundleError(
            f"{directory}: not a folder; a model bundle is the folder holding {MANIFEST}"
        )
    if not Path(directory).is_dir():
        raise BundleError(f"{directory}: model bundle directory not found")
    if not path.is_file():
        raise BundleError(f"{path}: missing (not a fedsec model bundle)")
    manifest = read_json(path, MAX_MANIFEST_BYTES)
    parse_envelope(manifest, VERSION, path)
    return manifest


def read_json(path: Path, limit: int) -> Any:
    """A JSON file of at most ``limit`` bytes, finite numbers only; a key given twice is refused
    (it could show one value to the signature and another to a reader)."""
    if path.stat().st_size > limit:
        raise BundleError(f"{path}: larger than {limit:,} bytes")

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise BundleError(f"{path}: a key appears twice in one object")
        return dict(pairs)

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise BundleError(f"{path}: {text} is not a finite number")
        return value

    try:
        text = path.read_bytes().decode("utf-8")
        return json.loads(text, object_pairs_hook=unique, parse_float=finite, parse_constant=finite)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BundleError(f"{path}: corrupt JSON: {error}") from error
    except BundleError:  # a number or key refused above: already names the file
        raise
    except (ValueError, RecursionError) as error:  # (read before the signature is checked)
        raise BundleError(f"{path}: corrupt JSON: {parse_problem(error)}") from None


def authenticate(
    directory: Path, manifest: dict[str, Any], trust: Trust | None = None
) -> Authenticity:
    """Who signed the bundle. A signature that does not verify is always refused; an unsigned
    or untrusted bundle is refused unless ``trust.allow_unsigned``."""
    trust = trust if trust is not None else user_trust()
    path = Path(directory) / SIGNATURE
    if path.is_file():
        found = trust.check(read_json(path, MAX_SIGNATURE_BYTES), manifest, path)
    else:
        found = Authenticity(None, False, f"no {SIGNATURE}")
    if found.trusted or trust.allow_unsigned:
        return found
    if found.signer is None:
        raise BundleError(
            f"{directory}: refused: the bundle is not signed ({found.reason}), so nothing shows "
            "who wrote it or that it is unchanged. If you know where it comes from, sign it "
            f"with your key (fedsec keys sign {directory}) or pass --allow-unsigned "
            "(not recommended)"
        )
    raise BundleError(f"{directory}: refused: {found.describe()}. To use it, {HOW_TO_TRUST}")


def open_bundle(directory: Path, kind: str, trust: Trust | None = None) -> OpenedBundle:
    """A bundle of ``kind`` once its signature, manifest and weights pass every check."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    authenticity = authenticate(directory, manifest, trust)
    if bundle_kind(manifest) != kind:
        raise BundleError(f"{directory}: a {bundle_kind(manifest)!r} bundle, not a {kind!r} one")
    typed = parse_manifest({"kind": kind, **manifest}, kind, directory / MANIFEST)
    if typed.payload_file != WEIGHTS:  # a booster: read by its kind's loader, once verified here
        payload = verified_payload(directory / typed.payload_file, typed)
        return OpenedBundle(directory, manifest, typed, [], authenticity, payload)
    shapes = expected_shapes(typed, directory / MANIFEST)
    path = verified_weights(directory, typed, sum(int(np.prod(s)) for s in shapes.values()))
    check_header(path, shapes)
    try:
        tensors = load_file(path)
    except SafetensorError as error:
        raise BundleError(f"{path}: unreadable weights: {error}") from error
    ordered = [tensors[name] for name in shapes]
    for name, tensor in zip(shapes, ordered, strict=True):
        if not np.isfinite(tensor).all():
            raise BundleError(f"{path}: tensor {name} holds NaN or infinite values")
    return OpenedBundle(directory, manifest, typed, ordered, authenticity)


def verified_weights(directory: Path, typed: Header, parameters: int) -> Path:
    """The weights file, once its size fits the architecture and its sha256 the manifest."""
    path = Path(directory) / WEIGHTS
    if not path.is_file():
        raise BundleError(f"{path}: missing")
    if path.stat().st_size > 4 * parameters + HEADER_ALLOWANCE:
        raise BundleError(f"{path}: larger than the architecture's {parameters:,} parameters")
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if digest != typed.weights_sha256:
        raise BundleError(f"{path}: sha256 does not match bundle.json (corrupt or altered)")
    return path


def verified_payload(path: Path, typed: Header) -> bytes:
    """A non-network model file's bytes, read once and bounded by the size the manifest
    declares, once their sha256 matches the manifest's (corrupt or altered: refused)."""
    if not path.is_file():
        raise BundleError(f"{path}: missing")
    size = typed.payload_size()
    if path.stat().st_size != size:
        raise BundleError(
            f"{path}: {path.stat().st_size:,} bytes, but bundle.json says {size:,} "
            "(corrupt or altered)"
        )
    with open(path, "rb") as handle:
        data = handle.read(size + 1)
    if len(data) != size or hashlib.sha256(data).hexdigest() != typed.weights_sha256:
        raise BundleError(f"{path}: sha256 does not match bundle.json (corrupt or altered)")
    return data


def check_header(path: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    """Tensor names, dtypes and shapes from the file's header, before any tensor is read."""
    try:
        with safe_open(path, framework="numpy") as weights:
            found = {name: weights.get_slice(name) for name in weights.keys()}  # noqa: SIM118
            layout = {n: (s.get_dtype(), tuple(s.get_shape())) for n, s in found.items()}
    except SafetensorError as error:
        raise BundleError(f"{path}: unreadable weights: {error}") from error
    if set(layout) != set(shapes):
        missing, extra = sorted(set(shapes) - set(layout)), sorted(set(layout) - set(shapes))
        raise BundleError(
            f"{path}: tensors do not match the architecture: missing {missing}, unexpected {extra}"
        )
    for name, shape in shapes.items():
        dtype, actual = layout[name]
        if dtype != "F32" or actual != shape:
            raise BundleError(
                f"{path}: tensor {name} is {dtype} {list(actual)}; the architecture needs "
                f"F32 {list(shape)}"
            )


def load_bundle(directory: Path, trust: Trust | None = None) -> tuple[FamilyScorer, dict[str, Any]]:
    """Load a verified classifier bundle, ready to score (without torch); any problem is a
    :class:`BundleError` naming it."""
    opened = open_bundle(directory, CLASSIFIER_KIND, trust)
    typed: ClassifierManifest = opened.typed
    model = FamilyScorer(
        spec=typed.architecture.spec(),
        preprocessor=typed.preprocessing.build(),
        classes=list(typed.classes),
        view=typed.feature_view,
        decision=typed.decision,
    ).set_weights(opened.tensors)
    model.thresholds_ = dict(typed.thresholds)
    return model, opened.manifest


def bundle_kind(manifest: dict[str, Any]) -> str:
    """What a bundle holds; bundles written before kinds existed are classifiers."""
    return parse_envelope(manifest, VERSION, MANIFEST).kind

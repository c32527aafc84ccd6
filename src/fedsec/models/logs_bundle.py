"""Bundles of the DeepLog model (``kind = "deeplog"``): the same layout and checks as every
fedsec bundle (``weights.safetensors`` + ``bundle.json`` with the weights' sha256; nothing is
ever unpickled). The manifest holds the architecture, the vocabulary's hash settings, the sorted
hashed tokens the model knows (never template text), per-organization ``top_k`` and, per
organization, the namespace of event ids that have no template text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError

from fedsec.errors import BundleError
from fedsec.features.vocabulary import EventVocabulary
from fedsec.learning.params import param_names
from fedsec.models.bundle import verified_tensors, write_bundle
from fedsec.models.deeplog import DeepLogDetector, DeepLogSpec, build_deeplog

KIND = "deeplog"


def save_log_bundle(
    directory: Path,
    model: DeepLogDetector,
    provenance: dict[str, Any],
    namespaces: dict[str, str],
) -> Path:
    """Write the bundle atomically (a complete new directory replaces any old one)."""
    return write_bundle(
        directory,
        KIND,
        param_names(build_deeplog(model.spec)),
        model.params,
        {
            "architecture": model.spec.to_json(),
            "vocabulary": model.vocabulary.to_json(),
            "index": [int(t) for t in model.index],
            "end_token": model.end_token,
            "top_k": {k: int(v) for k, v in model.top_k.items()},
            "namespaces": dict(namespaces),
            "provenance": provenance,
        },
    )


def load_log_bundle(directory: Path) -> tuple[DeepLogDetector, dict[str, Any]]:
    """Load and verify a DeepLog bundle; any inconsistency is a :class:`BundleError`."""
    directory = Path(directory)
    manifest, tensors = verified_tensors(directory, KIND)
    try:
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

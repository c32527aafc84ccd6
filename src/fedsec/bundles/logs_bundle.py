"""Bundles of the DeepLog model (``kind = "deeplog"``): the same layout and checks as every
fedsec bundle (``weights.safetensors`` + ``bundle.json`` with the weights' sha256, signed in
``bundle.sig``; nothing is ever unpickled). The manifest holds the architecture, the
vocabulary's hash settings, the sorted hashed tokens the model knows (never template text),
per-organization ``top_k`` (``max-rank`` score) or thresholds (whole-sequence scores), the window
length and stride for long traces, and, per organization, the namespace of event ids that have
no template text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fedsec.bundles.bundle import open_bundle, write_bundle
from fedsec.bundles.fields import LOGS_KIND
from fedsec.bundles.manifest import DeepLogManifest
from fedsec.bundles.signing import Signer, Trust
from fedsec.models.deeplog import DeepLogDetector
from fedsec.training.params import param_names


def save_log_bundle(
    directory: Path,
    model: DeepLogDetector,
    provenance: dict[str, Any],
    namespaces: dict[str, str],
    signer: Signer | None = None,
    windows: tuple[int, int] = (0, 0),
) -> Path:
    """Write the bundle atomically (a complete new directory replaces any old one)."""
    return write_bundle(
        directory,
        LOGS_KIND,
        param_names(model.build()),
        model.get_weights(),
        {
            "architecture": model.spec.to_json(),
            "vocabulary": model.vocabulary.to_json(),
            "index": [int(t) for t in model.known],
            "end_token": model.end_token,
            "top_k": {k: int(v) for k, v in model.top_k_.items()},
            "score": model.score,
            "score_quantile": model.score_quantile,
            "thresholds": {k: float(v) for k, v in model.thresholds_.items()},
            "trace_window": int(windows[0]),
            "trace_stride": int(windows[1]),
            "namespaces": dict(namespaces),
            "provenance": provenance,
        },
        signer,
    )


def load_log_bundle(
    directory: Path, trust: Trust | None = None
) -> tuple[DeepLogDetector, dict[str, Any]]:
    """Load a verified DeepLog bundle; any problem is a :class:`BundleError` naming it."""
    opened = open_bundle(directory, LOGS_KIND, trust)
    typed: DeepLogManifest = opened.typed
    model = DeepLogDetector(
        typed.architecture.spec(),
        typed.vocabulary.build(),
        np.asarray(typed.index, np.int64),
        end_token=typed.end_token,
        score=typed.score,
        score_quantile=typed.score_quantile,
    ).set_weights(opened.tensors)
    model.top_k_ = dict(typed.top_k)
    model.thresholds_ = dict(typed.thresholds)
    model.module()
    return model, opened.manifest

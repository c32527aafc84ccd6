"""Anomaly-detector bundles: a one-class network (autoencoder or Deep SVDD), its
preprocessing, error scale and per-organization thresholds, in the layout and with the checks
of :mod:`fedsec.bundles.bundle`. A bundle loads as an
:class:`~fedsec.models.one_class.OneClassScorer`, without importing torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fedsec.bundles.bundle import open_bundle, write_bundle
from fedsec.bundles.fields import ANOMALY_KIND
from fedsec.bundles.manifest import AnomalyManifest
from fedsec.bundles.signing import Signer, Trust
from fedsec.models.one_class import OneClassScorer


def save_anomaly_bundle(
    directory: Path,
    model: OneClassScorer,
    provenance: dict[str, Any],
    signer: Signer | None = None,
) -> Path:
    """An anomaly detector's bundle: network, preprocessing, error scale, per-org thresholds."""
    center = model.center_ if model.kind == "svdd" else None
    return write_bundle(
        directory,
        ANOMALY_KIND,
        list(model.spec.tensor_shapes()),
        model.get_weights(),
        {
            "architecture": model.spec.to_json(),
            "feature_view": model.view,
            "preprocessing": model.preprocessor.to_json(),
            "score": {
                "scale": [float(v) for v in model.scale_],
                "center": None if center is None else [float(c) for c in center],
            },
            "thresholds": {k: float(v) for k, v in model.thresholds_.items()},
            "provenance": provenance,
        },
        signer,
    )


def load_anomaly_bundle(
    directory: Path, trust: Trust | None = None
) -> tuple[OneClassScorer, dict[str, Any]]:
    """Load a verified anomaly bundle, ready to score (without torch); any problem is a
    :class:`BundleError` naming it."""
    opened = open_bundle(directory, ANOMALY_KIND, trust)
    typed: AnomalyManifest = opened.typed
    model = OneClassScorer(
        typed.architecture.spec(), typed.preprocessing.build(), typed.feature_view
    )
    model.set_weights(opened.tensors)
    model.scale_ = np.asarray(typed.score.scale, dtype=np.float32)
    if typed.score.center is not None:
        model.center_ = tuple(typed.score.center)
    model.thresholds_ = dict(typed.thresholds)
    return model, opened.manifest

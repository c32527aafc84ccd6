"""The one-class network detectors by name, as scenarios (``anomaly.models``) and bundles
(``architecture.kind``) refer to them."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fedsec.features.preprocess import Preprocessor
from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.autoencoder import AutoencoderDetector
from fedsec.models.svdd import DeepSVDDDetector

DETECTORS: dict[str, type[AnomalyDetector]] = {
    cls.kind: cls for cls in (AutoencoderDetector, DeepSVDDDetector)
}


def new_detector(
    kind: str,
    preprocessor: Preprocessor,
    view: str,
    hidden: Sequence[int],
    size: int,
    generator: torch.Generator,
    *,
    shared: bool = True,
    **hyperparameters,
) -> AnomalyDetector:
    """An untrained detector with initial weights drawn from ``generator``: ``size`` is the
    autoencoder's code or the SVDD embedding (as the kind's ``make_spec`` decides it for a
    ``shared`` model or one organization's own); ``hyperparameters`` go to its constructor."""
    if kind not in DETECTORS:
        raise ValueError(f"unknown anomaly model {kind!r}; expected one of {tuple(DETECTORS)}")
    cls = DETECTORS[kind]
    spec = cls.make_spec(preprocessor.width, tuple(hidden), size, shared=shared)
    return cls(spec, preprocessor, view, **hyperparameters).initialize(generator)

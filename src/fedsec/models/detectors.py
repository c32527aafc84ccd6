"""The one-class network detectors by name, as scenarios and bundles refer to them."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fedsec.features.preprocess import Preprocessor
from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.autoencoder import AutoencoderDetector, AutoencoderSpec
from fedsec.models.svdd import DeepSVDDDetector, SVDDSpec

DETECTORS: dict[str, type[AnomalyDetector]] = {"ae": AutoencoderDetector, "svdd": DeepSVDDDetector}
KINDS: tuple[str, ...] = tuple(DETECTORS)


def detector_for(
    spec: AutoencoderSpec | SVDDSpec, preprocessor: Preprocessor, view: str, **hyperparameters
) -> AnomalyDetector:
    """The (untrained) detector of ``spec``'s kind."""
    if isinstance(spec, AutoencoderSpec):
        return AutoencoderDetector(spec, preprocessor, view, **hyperparameters)
    return DeepSVDDDetector(spec, preprocessor, view, **hyperparameters)


def new_detector(
    kind: str,
    preprocessor: Preprocessor,
    view: str,
    hidden: Sequence[int],
    size: int,
    generator: torch.Generator,
    **hyperparameters,
) -> AnomalyDetector:
    """An untrained detector with initial weights drawn from ``generator``: ``size`` is the
    autoencoder's code or the SVDD embedding; ``hyperparameters`` go to its constructor."""
    if kind == "ae":
        spec: AutoencoderSpec | SVDDSpec = AutoencoderSpec(preprocessor.width, tuple(hidden), size)
    elif kind == "svdd":
        spec = SVDDSpec(preprocessor.width, tuple(hidden), size)
    else:
        raise ValueError(f"unknown anomaly model {kind!r}; expected one of {KINDS}")
    return detector_for(spec, preprocessor, view, **hyperparameters).initialize(generator)

"""A one-class detector as a scorer: preprocessing, the network's weights as arrays, its error
scale, centre (Deep SVDD) and thresholds, without torch (what a loaded anomaly bundle is, and
what ``fedsec detect`` runs). :class:`~fedsec.models.anomaly.AnomalyDetector` adds training.

Scores (see :mod:`fedsec.models.anomaly`): the autoencoder's mean scaled squared reconstruction
error per feature, Deep SVDD's scaled squared distance to its centre. The networks run on
their weights as arrays (:mod:`fedsec.models.mlp_arrays`), in every arm and in detection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fedsec.core.errors import BundleError
from fedsec.features.preprocess import Preprocessor
from fedsec.models import mlp_arrays
from fedsec.models.base import ArrayWeights, Detector
from fedsec.models.one_class_specs import SVDD_SLOPE, AutoencoderSpec, SVDDSpec


class ScoredByThreshold(Detector):
    """A detector of flow rows: ``score_matrix`` on preprocessed rows, thresholds per
    organization (and global)."""

    preprocessor: Preprocessor
    view: str

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        return self.preprocessor.transform(frame)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Anomaly score per row (higher = more anomalous)."""
        return self.score_matrix(self.encode(X))


class OneClassScorer(ArrayWeights, ScoredByThreshold):
    """A one-class network's weights over preprocessed flow rows: hyperparameters ``spec``
    (an :class:`AutoencoderSpec` or :class:`SVDDSpec`), ``preprocessor`` and ``view``.
    Learned: ``params_``, ``scale_``, ``thresholds_`` (Deep SVDD: ``center_``)."""

    scale_: np.ndarray
    center_: tuple[float, ...] | None = None

    def __init__(self, spec: Any, preprocessor: Preprocessor, view: str) -> None:
        self.spec = spec
        self.preprocessor = preprocessor
        self.view = view

    @property
    def kind(self) -> str:
        """``ae`` or ``svdd``, from the architecture."""
        return self.spec.kind

    def raw_errors(self, x: np.ndarray) -> np.ndarray:
        """Unscaled errors (float32): per feature (autoencoder, n×d) or one column (n×1)."""
        out = mlp_arrays.outputs(network_layers(self.spec, self.params_), x)
        if isinstance(self.spec, AutoencoderSpec):
            return (out - np.asarray(x, dtype=np.float32)) ** 2
        center = np.asarray(self.center_, dtype=np.float32)
        return ((out - center) ** 2).sum(axis=1, keepdims=True)

    def errors_from_matrix(self, x: np.ndarray) -> np.ndarray:
        """Scaled errors: per feature (autoencoder) or one column (Deep SVDD)."""
        return self.raw_errors(x) / self.scale_

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """Mean scaled error per row (benign training rows average ~1)."""
        return self.errors_from_matrix(x).mean(axis=1).astype(np.float64)

    def contributions(self, x: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Share of each input column in each row's score (autoencoder only): one-hot buckets
        and missing flags are summed into the column they encode."""
        if self.kind != "ae":
            raise ValueError("feature contributions need a reconstruction model (ae)")
        columns, groups = column_groups(self.preprocessor)
        errors = self.errors_from_matrix(x)
        per_column = np.stack([errors[:, g].sum(axis=1) for g in groups], axis=1)
        total = per_column.sum(axis=1, keepdims=True)
        return columns, per_column / np.where(total > 0, total, 1.0)


def network_layers(
    spec: AutoencoderSpec | SVDDSpec, params: list[np.ndarray]
) -> list[mlp_arrays.Layer]:
    """The network's layers for :func:`fedsec.models.mlp_arrays.outputs`: the autoencoder's
    encoder then decoder (ReLU between layers; the code and the output linear), or Deep SVDD's
    bias-free layers (leaky ReLU between; the embedding linear). Any other architecture is
    refused with a :class:`~fedsec.core.errors.BundleError` naming its type."""
    if isinstance(spec, SVDDSpec):
        weights = [np.asarray(p, np.float64) for p in params]
        return [
            (w, None, SVDD_SLOPE if i < len(weights) - 1 else None) for i, w in enumerate(weights)
        ]
    if not isinstance(spec, AutoencoderSpec):
        raise BundleError(
            f"cannot score architecture {type(spec).__name__}: scoring supports only the "
            "autoencoder (AutoencoderSpec) and Deep SVDD (SVDDSpec) layouts"
        )
    half = len(spec.widths()) - 1
    linear = mlp_arrays.layers(params)
    return [
        (w, b, None if i in (half - 1, 2 * half - 1) else 0.0) for i, (w, b) in enumerate(linear)
    ]


def column_groups(pre: Preprocessor) -> tuple[list[str], list[np.ndarray]]:
    """Input columns and, for each, the indices of the encoded features derived from it."""
    hashed = {f"{c}#{b}": c for c in pre.categorical for b in range(pre.hash_buckets)}
    owner = [hashed.get(name, name.removesuffix("__missing")) for name in pre.names]
    columns = list(dict.fromkeys(owner))
    index = {c: i for i, c in enumerate(columns)}
    codes = np.asarray([index[o] for o in owner])
    return columns, [np.flatnonzero(codes == i) for i in range(len(columns))]

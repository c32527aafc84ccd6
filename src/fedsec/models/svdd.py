"""Deep SVDD (Ruff et al., ICML 2018): map benign traffic close to a fixed centre.

The network has no bias terms (a bias would let it map every input to the centre), and the
centre is the initial network's mean embedding of all organizations' benign rows, computed as a
federated mean: each organization sends the sum of its embeddings and its row count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar, Self

import numpy as np
import torch
from torch import nn

from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.one_class_specs import SVDD_SLOPE, SVDDSpec
from fedsec.models.seeded import seeded_build
from fedsec.training.local import predict_logits
from fedsec.training.plan import TrainingPlan

#: Centre coordinates closer to zero than this are pushed to +-EPS (a zero coordinate is
#: trivially matched by shrinking weights).
EPS = 0.1


class SVDDNet(nn.Module):
    """Bias-free MLP with leaky ReLUs; its output is the embedding."""

    def __init__(self, spec: SVDDSpec) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = spec.inputs
        for size in spec.hidden:
            layers += [nn.Linear(width, size, bias=False), nn.LeakyReLU(SVDD_SLOPE)]
            width = size
        layers.append(nn.Linear(width, spec.embedding, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_svdd(spec: SVDDSpec, seed_generator: torch.Generator | None = None) -> SVDDNet:
    return seeded_build(lambda: SVDDNet(spec), seed_generator)


def embedding_sum(network: nn.Module, x: np.ndarray) -> tuple[np.ndarray, int]:
    """What one organization shares to fix the centre: the sum of its embeddings and a count."""
    return predict_logits(network, x).astype(np.float64).sum(axis=0), len(x)


def center_from_sums(parts: list[tuple[np.ndarray, int]]) -> tuple[float, ...]:
    """The coordinator's federated mean of the organizations' embedding sums."""
    total = sum(n for _, n in parts)
    if total == 0:
        raise ValueError("Deep SVDD centre needs at least one benign row")
    center = sum(s for s, _ in parts) / total
    center = np.where(np.abs(center) < EPS, np.where(center < 0, -EPS, EPS), center)
    return tuple(float(c) for c in center)


class DeepSVDDDetector(AnomalyDetector):
    """Anomaly score: squared distance to ``center_`` over the mean benign distance.

    ``center_`` is learned before training (:meth:`prepare`: the initial network's mean
    embedding of every party's benign rows) and stays fixed while the network learns."""

    kind: ClassVar[str] = "svdd"
    center_: tuple[float, ...] | None = None

    @classmethod
    def make_spec(
        cls, inputs: int, hidden: tuple[int, ...], size: int, *, shared: bool = True
    ) -> SVDDSpec:
        return SVDDSpec(inputs, hidden, size)  # an embedding may be wider than its input

    def build(self, generator: torch.Generator | None = None) -> SVDDNet:
        return build_svdd(self.spec, generator)

    def initialize(self, generator: torch.Generator) -> Self:
        self.center_ = None
        return super().initialize(generator)

    def prepare(self, xs: Sequence[np.ndarray]) -> Self:
        """The centre, when unset, as a federated mean of each party's embedding sums."""
        if self.center_ is None:
            self.center_ = center_from_sums([embedding_sum(self.module(), x) for x in xs])
        return self

    def objective(self, plan: TrainingPlan) -> TrainingPlan:
        return replace(plan, objective="svdd", center=tuple(self.center_))

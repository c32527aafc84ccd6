"""A fully connected autoencoder: the federation's model of normal traffic.

Trained on benign rows only with the ``reconstruction`` objective; what it cannot reconstruct is
what deviates from the normal behaviour it learned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.seeded import seeded_build
from fedsec.training.local import TrainingPlan, predict_logits


@dataclass(frozen=True)
class AutoencoderSpec:
    """Architecture as data: encoder widths, then the code size; the decoder mirrors it."""

    inputs: int
    hidden: tuple[int, ...] = (64,)
    bottleneck: int = 8

    def to_json(self) -> dict:
        return {
            "kind": "ae",
            "inputs": self.inputs,
            "hidden": list(self.hidden),
            "bottleneck": self.bottleneck,
        }

    @classmethod
    def from_json(cls, data: dict) -> AutoencoderSpec:
        return cls(
            int(data["inputs"]), tuple(int(h) for h in data["hidden"]), int(data["bottleneck"])
        )


def _stack(widths: list[int]) -> nn.Sequential:
    """Linear layers through ``widths`` with ReLUs between them (none after the last)."""
    layers: list[nn.Module] = []
    for a, b in pairwise(widths):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class Autoencoder(nn.Module):
    """``decoder(encoder(x))``; ReLU between layers, a linear code and a linear output."""

    def __init__(self, spec: AutoencoderSpec) -> None:
        super().__init__()
        widths = [spec.inputs, *spec.hidden, spec.bottleneck]
        self.encoder = _stack(widths)
        self.decoder = _stack(widths[::-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def build_autoencoder(
    spec: AutoencoderSpec, seed_generator: torch.Generator | None = None
) -> Autoencoder:
    """A freshly initialised autoencoder, reproducible when a generator is given."""
    return seeded_build(lambda: Autoencoder(spec), seed_generator)


class AutoencoderDetector(AnomalyDetector):
    """Anomaly score: mean scaled squared reconstruction error per feature."""

    kind: ClassVar[str] = "ae"

    @classmethod
    def make_spec(cls, inputs: int, hidden: tuple[int, ...], size: int) -> AutoencoderSpec:
        return AutoencoderSpec(inputs, hidden, size)

    def build(self, generator: torch.Generator | None = None) -> Autoencoder:
        return build_autoencoder(self.spec, generator)

    def raw_errors(self, x: np.ndarray) -> np.ndarray:
        return (predict_logits(self.module(), x) - x) ** 2

    def objective(self, plan: TrainingPlan) -> TrainingPlan:
        return replace(plan, objective="reconstruction", center=None)

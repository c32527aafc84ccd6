"""A fully connected autoencoder: the federation's model of normal traffic.

Trained on benign rows only with the ``reconstruction`` objective; what it cannot reconstruct is
what deviates from the normal behaviour it learned.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn

from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.one_class_specs import AutoencoderSpec
from fedsec.models.seeded import seeded_build
from fedsec.training.plan import TrainingPlan


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

    def objective(self, plan: TrainingPlan) -> TrainingPlan:
        return replace(plan, objective="reconstruction", center=None)

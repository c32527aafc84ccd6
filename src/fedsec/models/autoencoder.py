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

from fedsec.core.errors import ConfigError
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


def code_size(setting: int, inputs: int, *, shared: bool = True) -> int:
    """The code width of a fresh autoencoder on ``inputs`` features from ``anomaly.bottleneck``
    (``setting``), the one rule every arm and engine follows. A code as wide as its input can
    copy every row, attacks too, so its reconstruction error tells nothing. The shared model
    (federated, centralized) refuses such a setting; an organization's local model, on its own
    narrower data, gets ``inputs - 1`` (at least 1), reported per organization."""
    if setting < inputs:
        return setting
    if not shared:
        return max(1, inputs - 1)
    raise ConfigError(
        f"anomaly.bottleneck = {setting} is not narrower than the shared autoencoder's input, "
        f"{inputs} features (this data in this view): a code that wide can copy every row, "
        f"attacks too, and its reconstruction error tells nothing; give fewer than {inputs}"
    )


class AutoencoderDetector(AnomalyDetector):
    """Anomaly score: mean scaled squared reconstruction error per feature."""

    kind: ClassVar[str] = "ae"

    @classmethod
    def make_spec(
        cls, inputs: int, hidden: tuple[int, ...], size: int, *, shared: bool = True
    ) -> AutoencoderSpec:
        """A fresh network's spec, its code from :func:`code_size` (a bundle's own spec is
        read as it was written)."""
        return AutoencoderSpec(inputs, hidden, code_size(size, inputs, shared=shared))

    def build(self, generator: torch.Generator | None = None) -> Autoencoder:
        return build_autoencoder(self.spec, generator)

    def objective(self, plan: TrainingPlan) -> TrainingPlan:
        return replace(plan, objective="reconstruction", center=None)

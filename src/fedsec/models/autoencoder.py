"""A fully connected autoencoder: the federation's model of normal traffic.

Trained on benign rows only with the ``reconstruction`` objective; what it cannot reconstruct is
what deviates from the normal behaviour it learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

from fedsec.models.seeded import seeded_build


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

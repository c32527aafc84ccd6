"""A configurable multilayer perceptron: the supervised attack-family classifier's network."""

from __future__ import annotations

import torch
from torch import nn

from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.seeded import seeded_build


class MLP(nn.Module):
    def __init__(self, spec: MLPSpec) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = spec.inputs
        for size in spec.hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(spec.dropout)]
            width = size
        layers.append(nn.Linear(width, spec.outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_mlp(spec: MLPSpec, seed_generator: torch.Generator | None = None) -> MLP:
    """A freshly initialised network; with a generator the initial weights are reproducible."""
    return seeded_build(lambda: MLP(spec), seed_generator)

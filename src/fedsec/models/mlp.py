"""A configurable multilayer perceptron: the supervised attack-family classifier's network."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from fedsec.models.seeded import seeded_build


@dataclass(frozen=True)
class MLPSpec:
    """Architecture as data: enough to rebuild the network from a bundle."""

    inputs: int
    outputs: int
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.1

    def to_json(self) -> dict:
        return {"kind": "mlp", **asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_json(cls, data: dict) -> MLPSpec:
        return cls(
            int(data["inputs"]),
            int(data["outputs"]),
            tuple(int(h) for h in data["hidden"]),
            float(data["dropout"]),
        )


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

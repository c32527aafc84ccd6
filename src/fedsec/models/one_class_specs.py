"""The one-class networks' architectures as data (autoencoder, Deep SVDD): enough to rebuild a
network from a bundle, and the name and shape of each of its tensors without building it (and
without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

#: Modules per layer of a one-class network (linear, activation): the step of its tensor names.
MODULES_PER_LAYER = 2
#: Deep SVDD's leaky ReLU slope.
SVDD_SLOPE = 0.1


def _linear_shapes(prefix: str, widths: list[int], bias: bool = True) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, (width, size) in enumerate(pairwise(widths)):
        name = f"{prefix}.{layer * MODULES_PER_LAYER}"
        shapes[f"{name}.weight"] = (size, width)
        if bias:
            shapes[f"{name}.bias"] = (size,)
    return shapes


@dataclass(frozen=True)
class AutoencoderSpec:
    """Architecture as data: encoder widths, then the code size; the decoder mirrors it."""

    kind: ClassVar[str] = "ae"

    inputs: int
    hidden: tuple[int, ...] = (64,)
    bottleneck: int = 8

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "inputs": self.inputs,
            "hidden": list(self.hidden),
            "bottleneck": self.bottleneck,
        }

    @classmethod
    def from_json(cls, data: dict) -> AutoencoderSpec:
        return cls(
            int(data["inputs"]), tuple(int(h) for h in data["hidden"]), int(data["bottleneck"])
        )

    def widths(self) -> list[int]:
        """The encoder's widths, input to code (the decoder's reversed)."""
        return [self.inputs, *self.hidden, self.bottleneck]

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Tensor name -> shape, in the network's parameter order (its ``state_dict``'s)."""
        widths = self.widths()
        return {**_linear_shapes("encoder", widths), **_linear_shapes("decoder", widths[::-1])}


@dataclass(frozen=True)
class SVDDSpec:
    """Architecture as data: bias-free hidden widths, then the embedding size."""

    kind: ClassVar[str] = "svdd"

    inputs: int
    hidden: tuple[int, ...] = (64,)
    embedding: int = 16

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "inputs": self.inputs,
            "hidden": list(self.hidden),
            "embedding": self.embedding,
        }

    @classmethod
    def from_json(cls, data: dict) -> SVDDSpec:
        return cls(
            int(data["inputs"]), tuple(int(h) for h in data["hidden"]), int(data["embedding"])
        )

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Tensor name -> shape, in the network's parameter order (its ``state_dict``'s)."""
        return _linear_shapes("net", [self.inputs, *self.hidden, self.embedding], bias=False)

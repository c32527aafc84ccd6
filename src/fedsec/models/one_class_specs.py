"""The one-class networks' architectures as data (autoencoder, Deep SVDD): enough to rebuild a
network from a bundle, and the name and shape of each of its tensors without building it (and
without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fedsec.models.mlp_spec import linear_shapes

#: Modules per layer of a one-class network (linear, activation): the step of its tensor names.
MODULES_PER_LAYER = 2
#: Deep SVDD's leaky ReLU slope.
SVDD_SLOPE = 0.1


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
        encoder = linear_shapes("encoder", widths, MODULES_PER_LAYER)
        return {**encoder, **linear_shapes("decoder", widths[::-1], MODULES_PER_LAYER)}


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
        widths = [self.inputs, *self.hidden, self.embedding]
        return linear_shapes("net", widths, MODULES_PER_LAYER, bias=False)

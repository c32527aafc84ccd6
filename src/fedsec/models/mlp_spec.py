"""The attack-family classifier's network as data: its architecture and the name and shape of
each of its tensors, known without building it (and without importing torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise

#: Modules per hidden layer of the network (linear, ReLU, dropout): the step of its tensor names.
MODULES_PER_HIDDEN = 3


def linear_shapes(
    prefix: str, widths: list[int], step: int, bias: bool = True
) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of linear layers through ``widths``, the ``step``-th module of
    ``prefix`` each (the modules between them have no tensors), in ``state_dict`` order."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, (width, size) in enumerate(pairwise(widths)):
        name = f"{prefix}.{layer * step}"
        shapes[f"{name}.weight"] = (size, width)
        if bias:
            shapes[f"{name}.bias"] = (size,)
    return shapes


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

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Tensor name -> shape, in the network's parameter order (its ``state_dict``'s)."""
        widths = [self.inputs, *self.hidden, self.outputs]
        return linear_shapes("net", widths, MODULES_PER_HIDDEN)

"""What local training minimizes, by name, so a training plan stays plain data.

* ``cross_entropy``: supervised classification (optionally class-weighted); also next-event
  prediction when the model maps event windows to next-event logits;
* ``reconstruction``: mean squared reconstruction error (autoencoders on benign traffic);
* ``svdd``: mean squared distance of the embedding to a fixed centre (Deep SVDD).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

OBJECTIVES: tuple[str, ...] = ("cross_entropy", "reconstruction", "svdd")


@dataclass(frozen=True)
class CrossEntropy:
    """Cross-entropy, each record's loss weighted by its class weight; or, ``logit_adjusted``
    (Menon et al., ICLR 2021), unweighted on logits shifted by ``-log w``: with weights
    ``w ~ prior^-tau`` that adds ``tau * log prior``, so rare classes get larger margins
    without weights that clipping would bound away."""

    class_weights: tuple[float, ...] | None = None
    logit_adjusted: bool = False

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
    ) -> torch.Tensor:
        weights = (
            torch.tensor(self.class_weights, dtype=torch.float32) if self.class_weights else None
        )
        if self.logit_adjusted and weights is not None:
            shifted = model(x) - torch.log(weights)
            return nn.functional.cross_entropy(shifted, y, reduction=reduction)
        return nn.functional.cross_entropy(model(x), y, weight=weights, reduction=reduction)

    def total_weight(self, y: torch.Tensor) -> float:
        if not self.class_weights or self.logit_adjusted:
            return float(len(y))
        return float(torch.tensor(self.class_weights)[y].sum())


@dataclass(frozen=True)
class Reconstruction:
    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
    ) -> torch.Tensor:
        per_row = ((model(x) - x) ** 2).mean(dim=1)
        return per_row.sum() if reduction == "sum" else per_row.mean()

    def total_weight(self, y: torch.Tensor) -> float:
        return float(len(y))


@dataclass(frozen=True)
class HypersphereDistance:
    center: tuple[float, ...]

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
    ) -> torch.Tensor:
        center = torch.tensor(self.center, dtype=torch.float32)
        per_row = ((model(x) - center) ** 2).sum(dim=1)
        return per_row.sum() if reduction == "sum" else per_row.mean()

    def total_weight(self, y: torch.Tensor) -> float:
        return float(len(y))


def make_objective(plan: object) -> CrossEntropy | Reconstruction | HypersphereDistance:
    """The loss a plan names (``plan.objective``), with its parameters."""
    name = plan.objective
    if name == "cross_entropy":
        return CrossEntropy(plan.class_weights, plan.logit_adjusted)
    if name == "reconstruction":
        return Reconstruction()
    if name == "svdd":
        if plan.center is None:
            raise ValueError("the svdd objective needs the hypersphere centre")
        return HypersphereDistance(tuple(plan.center))
    raise ValueError(f"unknown objective {name!r}; expected one of {OBJECTIVES}")

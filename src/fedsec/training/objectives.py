"""What local training minimizes, by name, so a training plan stays plain data.

* ``cross_entropy``: supervised classification (optionally class-weighted); also next-event
  prediction when the model maps event windows to next-event logits;
* ``reconstruction``: mean squared reconstruction error (autoencoders on benign traffic);
* ``svdd``: mean squared distance of the embedding to a fixed centre (Deep SVDD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

OBJECTIVES: tuple[str, ...] = ("cross_entropy", "reconstruction", "svdd")


@dataclass(frozen=True)
class CrossEntropy:
    """Cross-entropy, optionally class-weighted. With ``absent_scale < 1`` the logits of the
    classes absent from the organization's own data are scaled by it (restricted softmax, FedRS:
    Li and Zhan, "FedRS: Federated Learning with Restricted Softmax for Label Distribution
    Non-IID Data", KDD 2021), so an organization that never saw a family does not push every
    row away from it."""

    class_weights: tuple[float, ...] | None = None
    present: frozenset[int] | None = None
    absent_scale: float = 1.0

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
    ) -> torch.Tensor:
        weight = (
            torch.tensor(self.class_weights, dtype=torch.float32) if self.class_weights else None
        )
        return nn.functional.cross_entropy(
            self._restricted(model(x)), y, weight=weight, reduction=reduction
        )

    def _restricted(self, logits: torch.Tensor) -> torch.Tensor:
        if self.present is None or self.absent_scale >= 1.0:
            return logits
        scale = torch.full((logits.shape[1],), self.absent_scale, dtype=logits.dtype)
        scale[sorted(self.present)] = 1.0
        return logits * scale

    def total_weight(self, y: torch.Tensor) -> float:
        if not self.class_weights:
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


def make_objective(
    plan: object, labels: np.ndarray | None = None
) -> CrossEntropy | Reconstruction | HypersphereDistance:
    """The loss a plan names (``plan.objective``), with its parameters; ``labels``: the
    organization's training labels (the classes it holds, for a restricted softmax)."""
    name = plan.objective
    if name == "cross_entropy":
        scale = getattr(plan, "absent_logit_scale", 1.0)
        present = None if labels is None else frozenset(int(c) for c in np.unique(labels))
        return CrossEntropy(plan.class_weights, present, scale)
    if name == "reconstruction":
        return Reconstruction()
    if name == "svdd":
        if plan.center is None:
            raise ValueError("the svdd objective needs the hypersphere centre")
        return HypersphereDistance(tuple(plan.center))
    raise ValueError(f"unknown objective {name!r}; expected one of {OBJECTIVES}")

"""How DP-SGD bounds each record's gradient before summing: the clipping rules.

Every rule bounds a record's contribution to the summed gradient by ``C`` (``max_grad_norm``)
in L2 norm, the sensitivity the Gaussian noise ``noise_multiplier * C`` and the accountant
assume, so the rule changes what is learned, never the epsilon:

* ``flat`` (Abadi et al., CCS 2016; Opacus' default): ``g * min(1, C / (|g| + 1e-6))``;
* ``automatic`` (Bu et al., NeurIPS 2023, AUTO-S): ``g * C / (|g| + stability)``, every record
  normalized to norm ``C * |g| / (|g| + stability)``, just under ``C`` (exactly ``C`` with
  ``stability = 0``): no threshold to tune, and records with small gradients are not drowned
  by the noise that large ones set;
* ``per_layer`` (Opacus' per-layer clipping, McMahan et al. 2018): each of the ``P`` parameter
  tensors' part of the gradient clipped flat to ``C / sqrt(P)``, so the whole stays within ``C``.

Class weights multiply a record's gradient before any rule sees it, so a clipped record loses
its weight; weighing after clipping (``weights`` below) keeps them at the same bound.
"""

from __future__ import annotations

import math

import torch

CLIPPINGS: tuple[str, ...] = ("flat", "automatic", "per_layer")


def clip_factors(
    squared: torch.Tensor,
    max_grad_norm: float,
    clipping: str = "flat",
    stability: float = 0.01,
    weights: tuple[torch.Tensor, float] | None = None,
) -> torch.Tensor:
    """Factors that bound each record's gradient; ``squared`` is ``records x parameter tensors``
    (each record's squared gradient norm per parameter tensor), and so is the result.

    ``weights`` (each record's class weight, the largest class weight): the weight already in
    each gradient is divided out before clipping and applied after it as a share of the largest,
    so a weighted record contributes ``w / w_max`` of a clipped gradient, never more than ``C``
    (clipping first would erase the weights of every record it bounds)."""
    if weights is not None:
        record, heaviest = weights
        squared = squared / record.square()[:, None]
    factors = _factors(squared, max_grad_norm, clipping, stability)
    return factors if weights is None else factors / heaviest


def _factors(
    squared: torch.Tensor, max_grad_norm: float, clipping: str, stability: float
) -> torch.Tensor:
    if clipping == "per_layer":
        share = max_grad_norm / math.sqrt(squared.shape[1])
        return (share / (squared.sqrt() + 1e-6)).clamp(max=1.0)
    total = squared[:, 0]
    for column in range(1, squared.shape[1]):  # in parameter order, as Opacus sums
        total = total + squared[:, column]
    total = total.sqrt()[:, None]
    if clipping == "flat":
        factor = (max_grad_norm / (total + 1e-6)).clamp(max=1.0)
    elif clipping == "automatic":
        factor = max_grad_norm / (total + stability).clamp(min=1e-12)
    else:
        raise ValueError(f"unknown clipping {clipping!r}; one of {', '.join(CLIPPINGS)}")
    return factor.expand_as(squared)

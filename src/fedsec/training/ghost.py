"""Per-record clipping without per-record gradients, for networks whose parameters are all in
``nn.Linear`` layers fed one vector per record (the MLP classifier, the autoencoder, Deep SVDD).

A record's gradient of a linear layer's weight is the outer product ``delta_i a_i^T`` of the
gradient at the layer's output and the layer's input, so its norm is ``|delta_i| |a_i|``
without forming it (the "ghost norm" of Goodfellow 2015, Li et al. 2022), and the clipped sum
is one matrix product ``(c * delta)^T a``. This is exactly what Opacus computes from
materialized per-record gradients (same clip factors ``min(1, C / (norm + 1e-6))``, same noise
drawn in the same parameter order), at the cost of ordinary training instead of a
``batch x parameters`` tensor per step.
"""

from __future__ import annotations

import torch
from torch import nn

from fedsec.training.clipping import clip_factors
from fedsec.training.noise import NoiseSource


def supports(network: nn.Module) -> bool:
    """True when every trainable parameter is the weight or bias of an ``nn.Linear``."""
    linear = {id(p) for m in network.modules() if isinstance(m, nn.Linear) for p in m.parameters()}
    return all(id(p) in linear for p in network.parameters() if p.requires_grad)


class LinearTaps:
    """Keeps each linear layer's input and the gradient at its output for one batch."""

    def __init__(self, network: nn.Module) -> None:
        self.layers = [m for m in network.modules() if isinstance(m, nn.Linear)]
        self.inputs: dict[nn.Linear, torch.Tensor] = {}
        self.grads: dict[nn.Linear, torch.Tensor] = {}
        for layer in self.layers:
            layer.register_forward_hook(self._forward)

    def _forward(self, layer: nn.Linear, inputs: tuple, output: torch.Tensor) -> None:
        if inputs[0].dim() != 2:
            raise ValueError("ghost clipping needs one input vector per record")
        self.inputs[layer] = inputs[0].detach()
        if output.requires_grad:
            output.register_hook(lambda grad: self.grads.__setitem__(layer, grad.detach()))

    def clipped_sums(
        self,
        max_grad_norm: float,
        clipping: str = "flat",
        stability: float = 0.01,
        weights: tuple[torch.Tensor, float] | None = None,
    ) -> dict[nn.Parameter, torch.Tensor]:
        """Sum over the batch of every record's gradient clipped to ``max_grad_norm`` by the
        rule ``clipping``, class weights applied after it if given
        (:func:`fedsec.training.clipping.clip_factors`)."""
        params, squared = [], []
        for layer in self.layers:
            a = self.inputs[layer]
            delta = self.grads.setdefault(layer, a.new_zeros(len(a), layer.out_features))
            norms = (delta * delta).sum(1)
            params.append(layer.weight)
            squared.append(norms * (a * a).sum(1))
            if layer.bias is not None:
                params.append(layer.bias)
                squared.append(norms)
        factors = clip_factors(torch.stack(squared, 1), max_grad_norm, clipping, stability, weights)
        column = dict(zip(params, factors.T, strict=True))
        sums = {}
        for layer in self.layers:
            scaled = self.grads[layer] * column[layer.weight][:, None]
            sums[layer.weight] = scaled.T @ self.inputs[layer]
            if layer.bias is not None:
                sums[layer.bias] = (self.grads[layer] * column[layer.bias][:, None]).sum(0)
        self.inputs.clear()
        self.grads.clear()
        return sums


def noised_step(
    network: nn.Module,
    taps: LinearTaps,
    optimizer: torch.optim.Optimizer,
    source: NoiseSource,
    plan,
    divisor: float,
    weights: tuple[torch.Tensor, float] | None = None,
) -> None:
    """After ``loss.backward()`` on a summed loss: clip (by the plan's rule), add the Gaussian
    noise, divide by ``divisor`` (the expected batch size) and step, as Opacus' DPOptimizer
    does."""
    sums = taps.clipped_sums(
        plan.dp_max_grad_norm, plan.dp_clipping, plan.dp_clip_stability, weights
    )
    std = plan.dp_noise_multiplier * plan.dp_max_grad_norm
    for p in network.parameters():
        summed = sums[p]
        noise = source.gaussian_like(summed, std)
        p.grad = ((summed + noise) / divisor).view_as(p)
    optimizer.step()

"""DP-SGD local training with Opacus: per-sample clipping, Gaussian noise, Poisson batches.

Used by :func:`fedsec.training.local.local_update` when the plan carries a noise multiplier.
Each call wraps a copy of the network, so no Opacus hooks outlive the update. Batch sampling
and noise come from a :class:`~fedsec.training.noise.NoiseSource`: seeded from the plan in
simulation, cryptographically secure at a deployed organization. Every one of the ``steps``
releases is a noised step, an empty Poisson batch included (skipping it would make the number
of releases depend on the data).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace

import numpy as np
import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from opacus.optimizers.optimizer import _mark_as_processed
from torch import nn

from fedsec.training import ghost
from fedsec.training.clipping import clip_factors
from fedsec.training.noise import NoiseSource, SeededNoise
from fedsec.training.objectives import make_objective
from fedsec.training.params import Params, get_params, set_params


class SourcedDPOptimizer(DPOptimizer):
    """Opacus' DPOptimizer drawing its Gaussian noise from a :class:`NoiseSource` and clipping
    by one of :data:`~fedsec.training.clipping.CLIPPINGS`."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        source: NoiseSource,
        clipping: str = "flat",
        stability: float = 0.01,
        **options,
    ):
        super().__init__(optimizer, **options)
        self.source = source
        self.clipping = clipping
        self.stability = stability

    def clip_and_accumulate(self) -> None:
        if self.clipping == "flat":
            super().clip_and_accumulate()
            return
        samples = [self._get_flat_grad_sample(p) for p in self.params]
        squared = torch.stack([g.reshape(len(g), -1).square().sum(1) for g in samples], dim=1)
        factors = clip_factors(squared, self.max_grad_norm, self.clipping, self.stability)
        for p, sample, factor in zip(self.params, samples, factors.T, strict=True):
            grad = torch.einsum("i,i...", factor.to(sample.dtype), sample)
            p.summed_grad = grad if p.summed_grad is None else p.summed_grad + grad
            _mark_as_processed(p.grad_sample)

    def add_noise(self) -> None:
        std = self.noise_multiplier * self.max_grad_norm
        for p in self.params:
            noise = self.source.gaussian_like(p.summed_grad, std)
            p.grad = (p.summed_grad + noise).view_as(p)


def poisson_batches(n: int, rate: float | torch.Tensor, steps: int, source: NoiseSource):
    """Each step includes every row independently with probability ``rate`` (one for all, or
    one per row: the sampling the privacy accountant assumes); a step may be empty."""
    for _ in range(steps):
        yield torch.nonzero(source.uniform(n) < rate).flatten()


def record_rates(plan, targets: torch.Tensor) -> tuple[float | torch.Tensor, float]:
    """Each record's inclusion probability, and what the clipped, noised sum is divided by.

    Without class sampling every record is drawn at ``q = B / n`` (the accountant's rate) and
    the sum divided by ``B``, the expected batch size (Opacus' rule). With
    ``plan.dp_class_sampling`` (Boenisch et al. 2023, individualized sampling) a record of
    class ``c`` is drawn at ``q * w_c / w_max``, its loss unweighted: no record is drawn more
    often than at ``q``, so the accountant's epsilon at ``q`` holds for every record. The sum is
    divided by ``B / w_max``, the expected batch of an organization with the federation's class
    mix (the weights average 1 over it), so a step is in expectation the class-weighted mean of
    the clipped gradients; the rates and the divisor depend on ``B``, ``n`` and the class
    weights only, never on which records the organization holds.

    Distributed DP-SGD (``plan.dp_sample_rate`` = q) draws at the federation's rate and
    divides by ``q * n``, so the rows-weighted average of the organizations' steps is one
    step over all their records with expected batch ``q * N``."""
    if plan.dp_sample_rate > 0:
        rate, expected = plan.dp_sample_rate, plan.dp_sample_rate * len(targets)
    else:
        rate = min(1.0, plan.batch_size / len(targets))
        expected = float(plan.batch_size)
    if not plan.dp_class_sampling:
        return rate, expected
    if not plan.class_weights:
        raise ValueError(
            "privacy.sample_dp.class_sampling draws records at rates in the ratio of their class "
            "weights: it needs class weights (model.class_weighting other than none)"
        )
    weights = torch.tensor(plan.class_weights, dtype=torch.float64)
    heaviest = float(weights.max())
    return rate * (weights / heaviest)[targets], expected / heaviest


def dp_update(
    model: nn.Module,
    global_params: Params,
    features: torch.Tensor,
    targets: torch.Tensor,
    plan,
    steps: int,
    noise: NoiseSource | None = None,
) -> tuple[Params, float, int]:
    """``steps`` DP-SGD steps from ``global_params``; returns parameters, mean loss, steps.

    ``noise`` None: simulation, sampling seeded with ``plan.seed`` and noise with
    ``plan.seed + 1``."""
    sampling = noise or SeededNoise(plan.seed)
    noising = noise or SeededNoise(plan.seed + 1)
    network = copy.deepcopy(model)
    set_params(network, global_params)
    if ghost.supports(network):
        return _ghost_update(network, features, targets, plan, steps, sampling, noising)
    if plan.dp_weigh_after_clipping and plan.class_weights:
        raise ValueError(
            "class weights after clipping need a network of linear layers (ghost clipping)"
        )
    rate, divisor = record_rates(plan, targets)
    # per-sample gradients of a summed loss are exactly each record's gradient; the optimizer
    # then divides the clipped, noised sum by the expected batch size
    wrapped = GradSampleModule(network, loss_reduction="sum")
    optimizer = SourcedDPOptimizer(
        _base_optimizer(wrapped, plan),
        source=noising,
        clipping=plan.dp_clipping,
        stability=plan.dp_clip_stability,
        noise_multiplier=plan.dp_noise_multiplier,
        max_grad_norm=plan.dp_max_grad_norm,
        expected_batch_size=divisor,
        loss_reduction="mean",
    )
    objective = _objective(plan)
    wrapped.train()
    losses = []
    for batch in poisson_batches(len(features), rate, steps, sampling):
        optimizer.zero_grad()
        loss = objective(wrapped, features[batch], targets[batch], reduction="sum")
        with warnings.catch_warnings():  # Opacus' hooks on inputs that need no gradient
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            loss.backward()
        optimizer.step()  # an empty batch: clipped sum 0, the noise alone is released
        if len(batch):
            losses.append(float(loss.detach()) / len(batch))
    wrapped.eval()
    return get_params(network), float(np.mean(losses)) if losses else 0.0, steps


def _ghost_update(
    network: nn.Module,
    features: torch.Tensor,
    targets: torch.Tensor,
    plan,
    steps: int,
    sampling: NoiseSource,
    noising: NoiseSource,
) -> tuple[Params, float, int]:
    """:func:`dp_update` for linear-only networks: the same steps, clipped without
    materializing per-record gradients (:mod:`fedsec.training.ghost`)."""
    taps = ghost.LinearTaps(network)
    weighing = _after_clipping(plan)
    optimizer = _base_optimizer(network, plan)
    objective = _objective(plan)
    rate, divisor = record_rates(plan, targets)
    network.train()
    losses = []
    for batch in poisson_batches(len(features), rate, steps, sampling):
        optimizer.zero_grad(set_to_none=True)
        loss = objective(network, features[batch], targets[batch], reduction="sum")
        loss.backward()
        ghost.noised_step(
            network, taps, optimizer, noising, plan, divisor, weighing(targets[batch])
        )
        if len(batch):
            losses.append(float(loss.detach()) / len(batch))
    network.eval()
    return get_params(network), float(np.mean(losses)) if losses else 0.0, steps


def _objective(plan):
    """The plan's loss; unweighted when the class weights are sampling rates instead."""
    return make_objective(replace(plan, class_weights=None) if plan.dp_class_sampling else plan)


def _after_clipping(plan):
    """Each batch's class weights to apply after clipping (None: weights stay in the loss)."""
    if not (plan.dp_weigh_after_clipping and plan.class_weights):
        return lambda targets: None
    weights = torch.tensor(plan.class_weights, dtype=torch.float32)
    return lambda targets: (weights[targets], float(weights.max()))


def _base_optimizer(wrapped: nn.Module, plan) -> torch.optim.Optimizer:
    """The plan's optimizer; weight decay acts on the (public) parameters, so it spends no
    privacy."""
    if plan.optimizer == "sgd":
        return torch.optim.SGD(
            wrapped.parameters(),
            lr=plan.lr,
            momentum=plan.momentum,
            weight_decay=plan.weight_decay,
        )
    return torch.optim.Adam(wrapped.parameters(), lr=plan.lr, weight_decay=plan.weight_decay)

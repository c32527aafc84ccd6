"""DP-SGD local training with Opacus: per-sample clipping, Gaussian noise, Poisson batches.

Used by :func:`fedsec.learning.local.local_update` when the plan carries a noise multiplier.
Each call wraps a copy of the network, so no Opacus hooks outlive the update.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from torch import nn

from fedsec.learning.objectives import make_objective
from fedsec.learning.params import Params, get_params, set_params


def poisson_batches(n: int, rate: float, steps: int, generator: torch.Generator):
    """Each step includes every row independently with probability ``rate`` (the sampling the
    privacy accountant assumes)."""
    for _ in range(steps):
        yield torch.nonzero(torch.rand(n, generator=generator) < rate).flatten()


def dp_update(
    model: nn.Module,
    global_params: Params,
    features: torch.Tensor,
    targets: torch.Tensor,
    plan,
    steps: int,
) -> tuple[Params, float, int]:
    """``steps`` DP-SGD steps from ``global_params``; returns parameters, mean loss, steps."""
    network = copy.deepcopy(model)
    set_params(network, global_params)
    # per-sample gradients of a summed loss are exactly each record's gradient; the optimizer
    # then divides the clipped, noised sum by the expected batch size
    wrapped = GradSampleModule(network, loss_reduction="sum")
    base = (
        torch.optim.SGD(wrapped.parameters(), lr=plan.lr, momentum=plan.momentum)
        if plan.optimizer == "sgd"
        else torch.optim.Adam(wrapped.parameters(), lr=plan.lr)
    )
    generator = torch.Generator().manual_seed(plan.seed + 1)
    optimizer = DPOptimizer(
        base,
        noise_multiplier=plan.dp_noise_multiplier,
        max_grad_norm=plan.dp_max_grad_norm,
        expected_batch_size=plan.batch_size,
        loss_reduction="mean",
        generator=generator,
    )
    objective = make_objective(plan)
    rate = min(1.0, plan.batch_size / len(features))
    sampler = torch.Generator().manual_seed(plan.seed)
    wrapped.train()
    losses = []
    for batch in poisson_batches(len(features), rate, steps, sampler):
        if len(batch) == 0:
            continue  # an empty Poisson batch: no data touched, nothing to release
        optimizer.zero_grad()
        loss = objective(wrapped, features[batch], targets[batch], reduction="sum")
        with warnings.catch_warnings():  # Opacus' hooks on inputs that need no gradient
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()) / len(batch))
    wrapped.eval()
    return get_params(network), float(np.mean(losses)) if losses else 0.0, steps

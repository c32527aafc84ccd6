"""The organization's side of a round: train the global model on local data, return parameters.

The same function serves the in-process engine, the deployment executor and the local-only and
centralized baselines (which simply never aggregate). What is minimized is named by the plan's
``objective`` (see :mod:`fedsec.training.objectives`), so classifiers, autoencoders and sequence
models share one training loop.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from fedsec.training.noise import NoiseSource
from fedsec.training.objectives import make_objective
from fedsec.training.params import Params, get_params, set_params
from fedsec.training.plan import TrainingPlan, Update


def _optimizer(model: nn.Module, plan: TrainingPlan) -> torch.optim.Optimizer:
    if plan.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=plan.lr, momentum=plan.momentum, weight_decay=plan.weight_decay
        )
    if plan.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=plan.lr, weight_decay=plan.weight_decay)
    raise ValueError(f"unknown optimizer {plan.optimizer!r}")


def local_update(
    model: nn.Module,
    global_params: Params,
    x: np.ndarray,
    y: np.ndarray,
    plan: TrainingPlan,
    correction: Params | None = None,
    noise: NoiseSource | None = None,
) -> Update:
    """Start from ``global_params``, train as ``plan`` says, return the new parameters.

    ``prox_mu > 0`` adds FedProx's proximal term ``mu/2 * ||w - w_global||^2``; ``correction``
    (SCAFFOLD's ``c - c_i``) is added to every gradient, steering local steps toward the
    federation's direction instead of this organization's own optimum. ``noise`` is where
    DP-SGD draws its batches and noise: a deployed organization passes its
    :class:`~fedsec.training.noise.SecureNoise`; None (simulation) seeds them from the plan.
    """
    if len(x) == 0:
        raise ValueError("local_update needs at least one training row")
    if plan.dp_noise_multiplier > 0:
        return _private_update(model, global_params, x, y, plan, correction, noise)
    torch.manual_seed(plan.seed)
    set_params(model, global_params)
    anchor = [p.detach().clone() for p in model.parameters()] if plan.prox_mu > 0 else None
    steer = _as_tensors(correction, model)
    objective = make_objective(plan)
    optimizer = _optimizer(model, plan)
    features, targets = tensors(x, y)
    generator = torch.Generator().manual_seed(plan.seed)
    model.train()
    total, batches = 0.0, 0
    for batch in _batches(len(features), plan, generator):
        optimizer.zero_grad()
        loss = objective(model, features[batch], targets[batch])
        if anchor is not None:
            drift = sum(
                ((p - a) ** 2).sum() for p, a in zip(model.parameters(), anchor, strict=True)
            )
            loss = loss + 0.5 * plan.prox_mu * drift
        loss.backward()
        if steer is not None:
            for p, c in zip(model.parameters(), steer, strict=True):
                p.grad.add_(c)
        optimizer.step()
        total += float(loss.detach())
        batches += 1
    model.eval()
    return Update(get_params(model), len(x), {"loss": total / max(batches, 1)})


def _private_update(
    model: nn.Module,
    global_params: Params,
    x: np.ndarray,
    y: np.ndarray,
    plan: TrainingPlan,
    correction: Params | None,
    noise: NoiseSource | None,
) -> Update:
    if correction is not None or plan.prox_mu > 0:
        raise ValueError("DP-SGD cannot be combined with SCAFFOLD or FedProx terms")
    from fedsec.training.dpsgd import dp_update  # Opacus: loaded only when DP-SGD runs

    torch.manual_seed(plan.seed)
    features, targets = tensors(x, y)
    steps = plan.steps or plan.epochs * -(-len(x) // plan.batch_size)
    params, loss, done = dp_update(model, global_params, features, targets, plan, steps, noise)
    return Update(params, len(x), {"loss": loss, "dp_steps": float(done)})


def local_gradient(
    model: nn.Module, params: Params, x: np.ndarray, y: np.ndarray, plan: TrainingPlan
) -> Params:
    """Mean gradient of the local objective at ``params`` over all local rows (SCAFFOLD's
    control variate, option I), in evaluation mode so it is deterministic."""
    set_params(model, params)
    objective = make_objective(plan)
    features, targets = tensors(x, y)
    model.eval()
    model.zero_grad()
    for start in range(0, len(features), 8192):
        chunk = slice(start, start + 8192)
        objective(model, features[chunk], targets[chunk], reduction="sum").backward()
    weight = objective.total_weight(targets)
    grads = [p.grad.detach().numpy() / weight for p in model.parameters()]
    model.zero_grad()
    return [g.astype(np.float32) for g in grads]


def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Features as float32 (or int64 token ids), targets as int64."""
    if np.issubdtype(np.asarray(x).dtype, np.integer):
        features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64))
    else:
        features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return features, torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))


def _as_tensors(arrays: Params | None, model: nn.Module) -> list[torch.Tensor] | None:
    if arrays is None:
        return None
    shapes = [tuple(p.shape) for p in model.parameters()]
    if [tuple(a.shape) for a in arrays] != shapes:
        raise ValueError("correction does not match the model's parameter shapes")
    return [torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in arrays]


def _batches(n: int, plan: TrainingPlan, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Mini-batch index tensors: whole shuffled epochs, or exactly ``plan.steps`` batches."""
    done = 0
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, plan.batch_size):
            yield order[start : start + plan.batch_size]
            done += 1
            if plan.steps and done >= plan.steps:
                return
        if not plan.steps and done >= plan.epochs * -(-n // plan.batch_size):
            return


def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """Model outputs for many rows, in batches, without gradients."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            chunk, _ = tensors(x[start : start + batch_size], np.zeros(0, np.int64))
            outputs.append(model(chunk).numpy())
    if outputs:
        return np.concatenate(outputs)
    width = model(tensors(np.zeros((1, *x.shape[1:]), x.dtype), np.zeros(0))[0]).shape[1]
    return np.zeros((0, width), np.float32)

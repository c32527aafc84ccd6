"""The organization's side of a round: train the global model on local data, return parameters.

The same function serves the in-process engine, the deployment executor and the local-only and
centralized baselines (which simply never aggregate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from fedsec.learning.params import Params, get_params, set_params


@dataclass(frozen=True)
class TrainingPlan:
    """Everything a local update needs besides data and weights; plain, validated values."""

    epochs: int = 1
    steps: int = 0  # > 0: this many mini-batches instead of whole epochs
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    prox_mu: float = 0.0
    class_weights: tuple[float, ...] | None = None
    logit_offsets: tuple[float, ...] | None = None
    absent_class_scale: float = 1.0
    seed: int = 0


@dataclass
class Update:
    params: Params
    num_samples: int
    metrics: dict[str, float] = field(default_factory=dict)


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
) -> Update:
    """Start from ``global_params``, train as ``plan`` says, return the new parameters.

    ``prox_mu > 0`` adds FedProx's proximal term ``mu/2 * ||w - w_global||^2``; ``correction``
    (SCAFFOLD's ``c - c_i``) is added to every gradient, steering local steps toward the
    federation's direction instead of this organization's own optimum.
    """
    if len(x) == 0:
        raise ValueError("local_update needs at least one training row")
    torch.manual_seed(plan.seed)
    set_params(model, global_params)
    anchor = [p.detach().clone() for p in model.parameters()] if plan.prox_mu > 0 else None
    steer = _as_tensors(correction, model)
    loss_fn = _loss(plan)
    optimizer = _optimizer(model, plan)
    features, targets = _tensors(x, y)
    generator = torch.Generator().manual_seed(plan.seed)
    logit_scale = _restricted_softmax_scale(model, features, targets, plan.absent_class_scale)
    offsets = torch.tensor(plan.logit_offsets, dtype=torch.float32) if plan.logit_offsets else None
    model.train()
    total, batches = 0.0, 0
    for batch in _batches(len(features), plan, generator):
        optimizer.zero_grad()
        logits = model(features[batch])
        if logit_scale is not None:
            logits = logits * logit_scale
        if offsets is not None:
            logits = logits + offsets
        loss = loss_fn(logits, targets[batch])
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


def local_gradient(
    model: nn.Module, params: Params, x: np.ndarray, y: np.ndarray, plan: TrainingPlan
) -> Params:
    """Mean gradient of the local objective at ``params`` over all local rows (SCAFFOLD's
    control variate, option I), in evaluation mode so it is deterministic."""
    set_params(model, params)
    loss_fn = _loss(plan, reduction="sum")
    features, targets = _tensors(x, y)
    model.eval()
    model.zero_grad()
    for start in range(0, len(features), 8192):
        chunk = slice(start, start + 8192)
        loss_fn(model(features[chunk]), targets[chunk]).backward()
    weight = _total_weight(targets, plan)
    grads = [p.grad.detach().numpy() / weight for p in model.parameters()]
    model.zero_grad()
    return [g.astype(np.float32) for g in grads]


def _total_weight(targets: torch.Tensor, plan: TrainingPlan) -> float:
    if not plan.class_weights:
        return float(len(targets))
    return float(torch.tensor(plan.class_weights)[targets].sum())


def _loss(plan: TrainingPlan, reduction: str = "mean") -> nn.CrossEntropyLoss:
    weights = torch.tensor(plan.class_weights, dtype=torch.float32) if plan.class_weights else None
    return nn.CrossEntropyLoss(weight=weights, reduction=reduction)


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)),
    )


def _as_tensors(arrays: Params | None, model: nn.Module) -> list[torch.Tensor] | None:
    if arrays is None:
        return None
    shapes = [tuple(p.shape) for p in model.parameters()]
    if [tuple(a.shape) for a in arrays] != shapes:
        raise ValueError("correction does not match the model's parameter shapes")
    return [torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in arrays]


def _batches(n: int, plan: TrainingPlan, generator: torch.Generator):
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


def _restricted_softmax_scale(
    model: nn.Module, features: torch.Tensor, targets: torch.Tensor, scale: float
) -> torch.Tensor | None:
    """FedRS (Li & Zhan, KDD 2021): logits of classes absent from the local data are scaled by
    ``scale`` < 1 during local training, so an organization that never saw a family does not
    teach the shared model that nothing belongs to it."""
    if scale >= 1.0:
        return None
    with torch.no_grad():
        classes = model(features[:1]).shape[1]
    present = torch.zeros(classes, dtype=torch.bool)
    present[torch.unique(targets)] = True
    return torch.where(present, 1.0, scale)


def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """Logits for many rows, in batches, without gradients."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            chunk = torch.from_numpy(
                np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32)
            )
            outputs.append(model(chunk).numpy())
    width = model(torch.zeros(1, x.shape[1])).shape[1] if not outputs else outputs[0].shape[1]
    return np.concatenate(outputs) if outputs else np.zeros((0, width), np.float32)

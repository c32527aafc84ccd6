"""The coordinator's side of a round: combine updates into the next global model.

Pure functions over parameter lists. FedAvg averages weighted by sample counts; FedAdam (Reddi
et al., "Adaptive Federated Optimization", 2021) treats the averaged change as a pseudo-gradient
for a server-side Adam step. FedProx changes only the local objective, so it aggregates as FedAvg.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fedsec.training.local import Update
from fedsec.training.params import Params


def weighted_average(updates: Sequence[Update]) -> Params:
    """Sample-weighted mean of the updates' parameters (float64 accumulation)."""
    if not updates:
        raise ValueError("cannot aggregate zero updates")
    total = float(sum(u.num_samples for u in updates))
    if total <= 0:
        raise ValueError("updates carry no samples")
    averaged = []
    for arrays in zip(*(u.params for u in updates), strict=True):
        acc = np.zeros(arrays[0].shape, dtype=np.float64)
        for update, array in zip(updates, arrays, strict=True):
            acc += (update.num_samples / total) * array.astype(np.float64)
        averaged.append(acc.astype(np.float32))
    return averaged


@dataclass(frozen=True)
class ServerOptimizer:
    """How the coordinator turns the averaged update into the next global model."""

    name: str = "fedavg"  # fedavg | fedprox | scaffold | fedadam
    lr: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.99
    tau: float = 1e-3


@dataclass
class ServerState:
    """FedAdam's moments (empty for FedAvg/FedProx)."""

    m: Params | None = None
    v: Params | None = None
    step: int = 0


def server_step(
    global_params: Params, averaged: Params, optimizer: ServerOptimizer, state: ServerState
) -> tuple[Params, ServerState]:
    """Next global parameters and server state from the current ones and the averaged update."""
    delta = [
        a.astype(np.float64) - g.astype(np.float64)
        for a, g in zip(averaged, global_params, strict=True)
    ]
    if optimizer.name in ("fedavg", "fedprox", "scaffold"):
        new = [g + optimizer.lr * d for g, d in zip(global_params, delta, strict=True)]
        return [p.astype(np.float32) for p in new], ServerState(step=state.step + 1)
    if optimizer.name != "fedadam":
        raise ValueError(f"unknown server optimizer {optimizer.name!r}")
    m = state.m or [np.zeros_like(d) for d in delta]
    v = state.v or [np.full_like(d, optimizer.tau**2) for d in delta]
    m = [optimizer.beta1 * mi + (1 - optimizer.beta1) * d for mi, d in zip(m, delta, strict=True)]
    v = [
        optimizer.beta2 * vi + (1 - optimizer.beta2) * d * d for vi, d in zip(v, delta, strict=True)
    ]
    new = [
        g + optimizer.lr * mi / (np.sqrt(vi) + optimizer.tau)
        for g, mi, vi in zip(global_params, m, v, strict=True)
    ]
    return [p.astype(np.float32) for p in new], ServerState(m, v, state.step + 1)

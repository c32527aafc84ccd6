"""Model parameters as an ordered list of numpy arrays: what travels between parties."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # parameters travel as numpy arrays; only a network's side needs torch
    from torch import nn

Params = list[np.ndarray]


def get_params(model: nn.Module) -> Params:
    return [t.detach().cpu().numpy().copy() for t in model.state_dict().values()]


def set_params(model: nn.Module, params: Params) -> None:
    state = model.state_dict()
    if len(params) != len(state):
        raise ValueError(f"expected {len(state)} parameter arrays, got {len(params)}")
    for (name, current), value in zip(state.items(), params, strict=True):
        if tuple(current.shape) != tuple(value.shape):
            raise ValueError(f"parameter {name}: shape {value.shape} != {tuple(current.shape)}")
    import torch

    model.load_state_dict(
        {
            name: torch.from_numpy(np.asarray(v, dtype=np.float32))
            for name, v in zip(state, params, strict=True)
        }
    )


def param_names(model: nn.Module) -> list[str]:
    return list(model.state_dict())


def flatten(params: Params) -> np.ndarray:
    return np.concatenate([p.ravel() for p in params]) if params else np.zeros(0)


def max_abs_diff(a: Params, b: Params) -> float:
    return float(max((np.abs(x - y).max() for x, y in zip(a, b, strict=True)), default=0.0))

"""SCAFFOLD (Karimireddy et al., ICML 2020): control variates that cancel client drift.

When organizations hold disjoint attack families, plain local training pulls each one toward a
"benign vs. my families" model and the average of those is poor. SCAFFOLD's organizations add
``c - c_i`` to every local gradient, where ``c_i`` estimates their own gradient and ``c`` the
federation's, so local steps follow the federation's objective. Control variates here use
option I of the paper: the full local gradient at the received global model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fedsec.training.params import Params


def zeros_like(params: Params) -> Params:
    return [np.zeros_like(p, dtype=np.float32) for p in params]


def correction(server_control: Params, client_control: Params) -> Params:
    """What an organization adds to its gradients: ``c - c_i``."""
    return [
        (c - ci).astype(np.float32) for c, ci in zip(server_control, client_control, strict=True)
    ]


def server_control_step(
    server_control: Params, deltas: Sequence[Params], weights: Sequence[float]
) -> Params:
    """``c += sum_i w_i * (c_i_new - c_i_old)`` with ``w_i = n_i / N`` over all organizations,
    so ``c`` stays the sample-weighted mean of every organization's control variate."""
    new = [c.astype(np.float64) for c in server_control]
    for delta, weight in zip(deltas, weights, strict=True):
        for acc, d in zip(new, delta, strict=True):
            acc += weight * d.astype(np.float64)
    return [c.astype(np.float32) for c in new]

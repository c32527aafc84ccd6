"""SCAFFOLD: Karimireddy, Kale, Mohri, Reddi, Stich and Suresh, "SCAFFOLD: Stochastic
Controlled Averaging for Federated Learning", ICML 2020.

When organizations hold disjoint attack families, plain local training pulls each one toward a
"benign vs. my families" model and the average of those is poor. SCAFFOLD's organizations add
``c - c_i`` to every local gradient, where ``c_i`` estimates their own gradient and ``c`` the
federation's, so local steps follow the federation's objective. Control variates here use
option I of the paper: the full local gradient at the received global model. The coordinator
keeps ``c`` (sent to every selected site) and updates it from the sites' control changes, read
in clear or only as their protected sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fedsec.fl.aggregation.base import Combined
from fedsec.fl.strategies.base import SiteTask, Strategy, StrategyState
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


class Scaffold(Strategy):
    name = "scaffold"
    default_server_lr = 1.0
    changes_local_gradients = True
    sends_extras = True
    keeps_site_state = True
    sends_control = True

    def start(self, initial: Params, rows: dict[str, int]) -> None:
        self.control = zeros_like(initial)
        total = float(sum(rows.values()))
        self.weight = {site: n / total for site, n in rows.items()}
        self.weight_per_row = 1.0 / total

    def configure_site(self, site: str, round_: int) -> SiteTask:
        return SiteTask(control=self.control)

    def extra_like(self, params: Params) -> Params:
        return zeros_like(params)  # each site's control-variate change

    def state_dict(self) -> StrategyState:
        saved = super().state_dict()
        saved.tensors["control"] = list(self.control)
        return saved

    def load_state(self, saved: StrategyState) -> None:
        tensors = dict(saved.tensors)
        control = tensors.pop("control", None)
        shapes = [c.shape for c in self.control]
        if control is None or [tuple(c.shape) for c in control] != shapes:
            found = None if control is None else [tuple(c.shape) for c in control]
            raise ValueError(f"scaffold state: server control variate {found}, expected {shapes}")
        super().load_state(StrategyState(tensors, saved.meta))
        self.control = [np.asarray(c, dtype=np.float32) for c in control]

    def absorb(self, combined: Combined, sites: list[str]) -> None:
        if combined.extra_total is not None:
            # c += sum_i (n_i / N) dc_i from the protected sum_i (n_i / weight_unit) dc_i
            scale = combined.weight_unit * self.weight_per_row
            self.control = [
                (c.astype(np.float64) + scale * s).astype(np.float32)
                for c, s in zip(self.control, combined.extra_total, strict=True)
            ]
            return
        extras = combined.extras or {}
        missing = [site for site in sites if site not in extras]
        if missing:
            raise ValueError(f"SCAFFOLD: no control-variate change from {missing}")
        self.control = server_control_step(
            self.control, [extras[s] for s in sites], [self.weight[s] for s in sites]
        )

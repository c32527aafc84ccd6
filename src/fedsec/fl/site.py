"""A site's side of a round: train the global model as the strategy's task says.

The task's proximal weight goes into the local objective (FedProx); a coordinator control
variate (SCAFFOLD) steers every local gradient by ``c - c_i`` and, after training, the site
refreshes its own ``c_i`` (the full local gradient at the global model) and sends the change.
The site's control variate is its own state: it never leaves the site except as that change.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from torch import nn

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.strategies.base import SiteTask
from fedsec.fl.strategies.scaffold import correction, zeros_like
from fedsec.training.local import local_gradient, local_update
from fedsec.training.noise import NoiseSource
from fedsec.training.params import Params
from fedsec.training.plan import TrainingPlan


def run_task(
    model: nn.Module,
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    plan: TrainingPlan,
    task: SiteTask,
    control: Params | None = None,
    noise: NoiseSource | None = None,
) -> tuple[SiteResult, Params | None]:
    """One round at one site: its result and its control variate afterwards (``control``
    unchanged when the task carries none). ``noise`` is a deployed site's own DP randomness
    (None: seeded from the plan, as in simulation)."""
    plan = replace(plan, prox_mu=task.prox_mu)
    if task.control is None:
        return SiteResult(local_update(model, params, x, y, plan, noise=noise)), control
    own = control if control is not None else zeros_like(params)
    update = local_update(model, params, x, y, plan, correction(task.control, own), noise)
    gradient = local_gradient(model, params, x, y, plan)
    change = [g - c for g, c in zip(gradient, own, strict=True)]
    return SiteResult(update, extra=change), gradient

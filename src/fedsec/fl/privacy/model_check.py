"""A site's look at a global model before it trains on it: units built to single out records.

Secure aggregation hides each organization's update, not what a crafted model makes the sum
say. Two published constructions read training rows straight out of a summed update, without
DP: "Robbing the Fed" (Fowl et al., ICLR 2022) gives many first-layer units one direction and
staggered biases, so that the difference of neighbouring units' gradients is the rows falling
between them (measured here: 957 of 7,450 distinct rows of five sites, from one secure sum);
trap weights (Boenisch et al., "When the Curious Abandon Honesty", EuroS&P 2023) make each unit
fire for one or two rows, so that its gradient is those rows. This check refuses a model with
more than a few units of either kind: units whose weights point the same way as another
unit's (``|cos| >= parallel_cosine``, in every linear layer but the output one, whose rows for
the classes a site rarely sees drift one way honestly), and units that fire for 1 to
``isolating_rows`` of the site's own training rows. Honest models trained here have none of
the first and at most a couple of the second. It raises the cost of these two constructions
(an attacker left with a handful of such units reads a handful of rows a round); it is no
proof that a model leaks nothing: record-level DP-SGD (``[privacy] max_epsilon`` at the
site) is the defence.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

#: Rows per forward pass when counting which units fire.
BATCH = 8192


class ModelCheckConfig(BaseModel):
    """``[model_check]`` of a site's config (on by default)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    parallel_cosine: float = Field(0.99, gt=0.0, le=1.0)
    max_parallel_units: int = Field(16, ge=0)
    isolating_rows: int = Field(9, ge=1)
    max_isolating_units: int = Field(16, ge=0)


def parallel_units(weight: np.ndarray, cosine: float) -> int:
    """How many rows of a layer's ``weight`` (one per unit) have another row at
    ``|cos| >= cosine`` (rows of zeros left out: a unit that never fires sums no row)."""
    norms = np.linalg.norm(weight, axis=1)
    live = weight[norms > 0] / norms[norms > 0, None]
    if len(live) < 2:
        return 0
    alike = np.abs(live @ live.T) >= cosine
    np.fill_diagonal(alike, False)
    return int(alike.any(axis=1).sum())


def unit_activity(network: nn.Module, x: np.ndarray) -> list[np.ndarray]:
    """For each ReLU of ``network`` in forward order, on how many rows of ``x`` each of its
    units fires (output > 0)."""
    relus = [m for m in network.modules() if isinstance(m, nn.ReLU)]
    counts: list[np.ndarray | None] = [None] * len(relus)

    def counter(index: int):
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            fired = (output > 0).sum(dim=0).numpy()
            counts[index] = fired if counts[index] is None else counts[index] + fired

        return hook

    handles = [relu.register_forward_hook(counter(i)) for i, relu in enumerate(relus)]
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), BATCH):
                network(torch.from_numpy(np.ascontiguousarray(x[start : start + BATCH])))
    finally:
        for handle in handles:
            handle.remove()
        network.train(was_training)
    return [c for c in counts if c is not None]


def check_model(network: nn.Module, x: np.ndarray, config: ModelCheckConfig) -> str | None:
    """Why ``network`` (the global model's weights loaded) is refused on rows ``x``; None when
    the check finds too few parallel or isolating units (or is off)."""
    if not config.enabled:
        return None
    linear = [m for m in network.modules() if isinstance(m, nn.Linear)]
    for index, layer in enumerate(linear[:-1]):  # the output layer reads no input row
        weight = layer.weight.detach().numpy().astype(np.float64)
        found = parallel_units(weight, config.parallel_cosine)
        if found > config.max_parallel_units:
            return (
                f"{found} of the {len(weight)} units of linear layer {index + 1} have weights "
                f"parallel to another unit's (|cos| >= {config.parallel_cosine}; this site "
                f"allows {config.max_parallel_units})"
            )
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
        return None
    for index, fired in enumerate(unit_activity(network, x.astype(np.float32, copy=False))):
        few = int(((fired > 0) & (fired <= config.isolating_rows)).sum())
        if few > config.max_isolating_units:
            return (
                f"{few} of the {len(fired)} units after activation {index + 1} fire for 1 to "
                f"{config.isolating_rows} of this site's {len(x)} training rows (this site "
                f"allows {config.max_isolating_units})"
            )
    return None

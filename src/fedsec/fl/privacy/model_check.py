"""A site's look at a global model before it trains on it: units built to single out records.

Secure aggregation hides each organization's update, not what a crafted model makes the sum
say. Two published constructions read training rows straight out of a summed update, without
DP: "Robbing the Fed" (Fowl et al., ICLR 2022) gives many first-layer units one direction and
staggered biases, so that the difference of neighbouring units' gradients is the rows falling
between them (measured here: 957 of 7,450 distinct rows of five sites, from one secure sum);
trap weights (Boenisch et al., "When the Curious Abandon Honesty", EuroS&P 2023) make each unit
fire for one or two rows, so that its gradient is those rows. This check refuses a model with
more than a few units of either kind, in every linear layer but the output one (whose rows
for the classes a site rarely sees drift one way honestly): units whose weights point the same
way as another unit's (``|cos| >= parallel_cosine``) or that order the site's rows as another
unit does (:func:`moving_together` at ``same_order``: noise on columns that never vary hides
the angle, not that), and units that fire for 1 to ``isolating_rows`` of the site's training
rows. Honest training on five UNSW-NB15 sites stayed at 0 and at or below 9 of the limits'
16. It raises the cost of these constructions (16 binning units read 0 to 3 rows from a
sum); it is no proof that a model leaks nothing: record-level DP-SGD (``[privacy]
max_epsilon`` at the site) is the defence.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

#: Rows per forward pass when counting which units fire.
BATCH = 8192
#: Rows (evenly spaced) over which units' pre-activations are correlated.
SAMPLE = 4096
#: Rows of that sample a unit must fire for, and not fire for, to be compared.
SWITCHING = 10


class ModelCheckConfig(BaseModel):
    """``[model_check]`` of a site's config (on by default)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    parallel_cosine: float = Field(0.99, gt=0.0, le=1.0)
    same_order: float = Field(0.999, gt=0.0, le=1.0)
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


def _outputs(network: nn.Module, kind: type[nn.Module], x: np.ndarray, reduce) -> list:
    """For each ``kind`` module of ``network`` in forward order, ``reduce`` of its outputs over
    the rows of ``x`` (batched: each batch's result is added to the ones before)."""
    modules = [m for m in network.modules() if isinstance(m, kind)]
    found: list = [None] * len(modules)

    def keep(index: int):
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            value = reduce(output)
            found[index] = value if found[index] is None else found[index] + value

        return hook

    handles = [m.register_forward_hook(keep(i)) for i, m in enumerate(modules)]
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
    return [f for f in found if f is not None]


def unit_activity(network: nn.Module, x: np.ndarray) -> list[np.ndarray]:
    """For each ReLU of ``network`` in forward order, on how many rows of ``x`` each of its
    units fires (output > 0)."""
    return _outputs(network, nn.ReLU, x, lambda out: (out > 0).sum(dim=0).numpy())


def moving_together(network: nn.Module, x: np.ndarray, cosine: float) -> list[int]:
    """For each linear layer but the output one, how many units that fire for some rows of
    ``x`` and not for others (at least :data:`SWITCHING` of each) order those rows as another
    such unit does (rank correlation of their pre-activations ``|rho| >= cosine``: the same
    projection of a row, shifted and scaled, orders rows alike, while a few outlying rows
    cannot make honest units look alike). Units that never fire or always do sum every row
    alike and single none out, and units firing for a handful of rows are the isolating
    check's (honest training leaves dying units pointing alike). Unlike the weights' angle,
    noise an attacker adds on columns that never vary (the federated statistics tell it which)
    does not hide units that see the rows alike."""
    rows = x[:: max(1, len(x) // SAMPLE)][:SAMPLE]
    if len(rows) < 3:
        return []
    layers = _outputs(network, nn.Linear, rows, lambda out: [out.numpy().astype(np.float64)])
    counts = []
    for (z,) in layers[:-1]:
        fired = (z > 0).sum(axis=0)
        switching = (fired >= SWITCHING) & (len(z) - fired >= SWITCHING)
        ranks = np.argsort(np.argsort(z[:, switching], axis=0, kind="stable"), axis=0)
        centred = ranks - (len(z) - 1) / 2.0
        counts.append(parallel_units(centred.T, cosine))
    return counts


def check_model(network: nn.Module, x: np.ndarray, config: ModelCheckConfig) -> str | None:
    """Why ``network`` (the global model's weights loaded) is refused on rows ``x``; None when
    the check finds too few parallel or isolating units (or is off)."""
    if not config.enabled:
        return None
    linear = [m for m in network.modules() if isinstance(m, nn.Linear)]
    limit, cosine = config.max_parallel_units, config.parallel_cosine
    for index, layer in enumerate(linear[:-1]):  # the output layer reads no input row
        weight = layer.weight.detach().numpy().astype(np.float64)
        found = parallel_units(weight, cosine)
        if found > limit:
            return (
                f"{found} of the {len(weight)} units of linear layer {index + 1} have weights "
                f"parallel to another unit's (|cos| >= {cosine}; this site allows {limit})"
            )
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
        return None
    x = x.astype(np.float32, copy=False)
    for index, found in enumerate(moving_together(network, x, config.same_order)):
        if found > limit:
            return (
                f"{found} units of linear layer {index + 1} order this site's rows as another "
                f"unit does (rank correlation of pre-activations >= {config.same_order}; "
                f"this site allows {limit})"
            )
    for index, fired in enumerate(unit_activity(network, x)):
        few = int(((fired > 0) & (fired <= config.isolating_rows)).sum())
        if few > config.max_isolating_units:
            return (
                f"{few} of the {len(fired)} units after activation {index + 1} fire for 1 to "
                f"{config.isolating_rows} of this site's {len(x)} training rows (this site "
                f"allows {config.max_isolating_units})"
            )
    return None

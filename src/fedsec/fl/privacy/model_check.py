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

from itertools import pairwise

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

#: Rows per forward pass when counting which units fire.
BATCH = 8192
#: Rows (evenly spaced) over which units' pre-activations are rank-correlated.
SAMPLE = 2048


class ModelCheckConfig(BaseModel):
    """``[model_check]`` of a site's config (on by default)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    parallel_cosine: float = Field(0.99, gt=0.0, le=1.0)
    same_order: float = Field(0.999, gt=0.0, le=1.0)
    max_parallel_units: int = Field(16, ge=0)
    isolating_rows: int = Field(9, ge=1)
    max_isolating_units: int = Field(16, ge=0)
    #: Refusals (one a job: the site answers nothing more of a job after one) recorded in the
    #: site's ledger file over every job, after which it takes part in no job until its
    #: operator resets the count (``fedsec federation ledger --reset-model-check``).
    max_refusals: int = Field(3, ge=1)


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


#: Activations after which a linear unit "fires" when its pre-activation is positive.
GATES = (nn.ReLU, nn.LeakyReLU)


def gated_layers(network: nn.Module) -> list[nn.Linear]:
    """The linear layers of ``network`` followed by a ReLU-like activation, in forward order
    (the ones whose units switch on and off from row to row)."""
    leaves = [m for m in network.modules() if not list(m.children())]
    return [
        m for m, after in pairwise(leaves) if isinstance(m, nn.Linear) and isinstance(after, GATES)
    ]


def _forward(network: nn.Module, layers: list[nn.Linear], x: np.ndarray, on_output) -> None:
    """Run ``x`` through ``network`` in batches, calling ``on_output(index, z)`` with each of
    ``layers``' outputs (float32 tensors, one batch at a time)."""

    def hook_for(index: int):
        return lambda _module, _inputs, output: on_output(index, output)

    handles = [layer.register_forward_hook(hook_for(i)) for i, layer in enumerate(layers)]
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


def unit_activity(network: nn.Module, x: np.ndarray) -> list[np.ndarray]:
    """For each gated linear layer of ``network`` (:func:`gated_layers`), on how many rows of
    ``x`` each of its units fires (pre-activation > 0)."""
    layers = gated_layers(network)
    counts = [np.zeros(layer.out_features, dtype=np.int64) for layer in layers]

    def count(index: int, z: torch.Tensor) -> None:
        counts[index] += (z > 0).sum(dim=0).numpy()

    _forward(network, layers, x, count)
    return counts


def moving_together(
    network: nn.Module, x: np.ndarray, rho: float, compared: list[np.ndarray] | None = None
) -> list[int]:
    """For each gated linear layer, how many of its ``compared`` units (a boolean mask per
    layer; default: all) order up to :data:`SAMPLE` evenly spaced rows of ``x`` as another
    compared unit does (rank correlation of pre-activations ``|rho| >=`` the given value: the
    same projection of a row, shifted and scaled, orders rows alike, while a few outlying rows
    cannot make honest units look alike). Unlike the weights' angle, noise an attacker adds on
    columns that never vary (the federated statistics tell it which) does not hide units that
    see the rows alike. One layer at a time, in float32."""
    rows = x[np.unique(np.linspace(0, len(x) - 1, min(len(x), SAMPLE)).astype(np.int64))]
    layers = gated_layers(network)
    found = [0] * len(layers)
    if len(rows) < 3:
        return found

    def compare(index: int, z: torch.Tensor) -> None:
        chosen = z.numpy() if compared is None else z.numpy()[:, compared[index]]
        ranks = np.argsort(np.argsort(chosen, axis=0, kind="stable"), axis=0)
        found[index] = parallel_units((ranks - (len(rows) - 1) / 2.0).T.astype(np.float32), rho)

    _forward(network, layers, rows, compare)
    return found


def check_model(network: nn.Module, x: np.ndarray, config: ModelCheckConfig) -> str | None:
    """Why ``network`` (the global model's weights loaded) is refused on rows ``x``; None when
    the check finds too few parallel or isolating units (or is off). Without float rows
    (a log model's event windows) only the weights are checked."""
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
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating) or len(x) == 0:
        return None
    return _check_rows(network, x.astype(np.float32, copy=False), config)


def _check_rows(network: nn.Module, x: np.ndarray, config: ModelCheckConfig) -> str | None:
    """The row tests: units firing for a handful of ``x``'s rows, then units switching on
    more rows (and off as many) that order the rows alike."""
    few_rows, limit = config.isolating_rows, config.max_parallel_units
    fired = unit_activity(network, x)
    for index, counts in enumerate(fired):
        few = int(((counts > 0) & (counts <= few_rows)).sum())
        if few > config.max_isolating_units:
            return (
                f"{few} of the {len(counts)} units of gated layer {index + 1} fire for 1 to "
                f"{few_rows} of this site's {len(x)} training rows (this site allows "
                f"{config.max_isolating_units})"
            )
    switching = [(c > few_rows) & (len(x) - c > few_rows) for c in fired]
    for index, found in enumerate(moving_together(network, x, config.same_order, switching)):
        if found > limit:
            return (
                f"{found} units of gated layer {index + 1} order this site's rows as another "
                f"unit does (rank correlation of pre-activations >= {config.same_order}; "
                f"this site allows {limit})"
            )
    return None

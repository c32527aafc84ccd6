"""The sample-weighted mean of the sites' models, read one by one in clear (FedAvg's rule)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fedsec.fl.aggregation.base import Combined, SiteResult
from fedsec.training.params import Params
from fedsec.training.plan import Update


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


class WeightedMean:
    """Every site's model in clear, averaged by rows; extras are passed on site by site."""

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        averaged = weighted_average([r.update for r in results.values()])
        extras = {n: r.extra for n, r in results.items() if r.extra is not None}
        return Combined(averaged, extras=extras or None)

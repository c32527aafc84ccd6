"""Sample counts cannot buy influence: a site's weight is capped by what it registered and by
a multiple of the round's median weight.

A weighted mean trusts each site's claimed row count; one site claiming 100x its rows takes
over the average (the "sample-count inflation" attack). The coordinator knows the rows each
site declared when it joined (``registered``) and cuts later claims to that; since a site can
lie at enrolment too, no weight may exceed ``max_ratio`` times the median weight of the round.
"""

from __future__ import annotations

import numpy as np


def cap_weights(
    sites: list[str], claimed: list[int], registered: dict[str, int], max_ratio: float
) -> tuple[np.ndarray, list[str]]:
    """Each site's weight after both caps, and the sites whose claim was cut."""
    weights = np.asarray(claimed, dtype=np.float64)
    limit = np.asarray([registered.get(s, np.inf) for s in sites], dtype=np.float64)
    weights = np.minimum(weights, limit)
    if (weights <= 0).all():
        raise ValueError("updates carry no samples")
    weights = np.minimum(weights, max_ratio * float(np.median(weights)))
    claimed_arr = np.asarray(claimed, dtype=np.float64)
    return weights, [s for s, w, c in zip(sites, weights, claimed_arr, strict=True) if w < c]

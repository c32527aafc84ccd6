"""A site's check of a Deep SVDD job's pooled centre, from its own rows only.

The coordinator sets the centre from the sites' embedding sums of their benign training rows
under the initial network (``fedsec_sums``, ``center``): the pooled mean ``c0 = sum_i w_i m_i``
of the sites' mean embeddings ``m_i``, row shares ``w_i``, each coordinate within ``EPS`` of
zero then pushed to ``+-EPS`` (:func:`~fedsec.models.svdd.center_from_sums`). A hostile
coordinator could write any centre instead (moved 1e3 along one axis, every site's detection
fell to 0). A site answering the centre sums notes its own mean embedding ``m`` and a radius
``R`` no row's embedding under that network can exceed (the network is bias-free with leaky
ReLUs, so ``|f(x)| <= prod_l |W_l| * |x|``, spectral norms, and a preprocessed row's norm is
bounded by the clip, the missing-value flags and one hash bucket per categorical column). So
``c0 = w m + (1 - w) m'`` with ``|m'| <= R`` and, as this site holds at least
``[limits] min_value_share`` of the rows, ``w >= min_share``: a centre with no such ``w`` within
the push's ``EPS * sqrt(size)`` is refused, for training and, signed, at the evaluation.

What the site cannot bound: a move inside that ball (it catches a centre thrown far away, not
one nudged), and a centre of a job whose centre sums it did not answer (never asked, or
restarted since): those the signed detection rates catch or not
(:mod:`~fedsec.engines.nvflare.release_quality`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fedsec.engines.nvflare.setups import DetectorSetup, Setup
from fedsec.engines.nvflare.site_preprocessing import SLACK, SetupRefused
from fedsec.features.preprocess_schema import Preprocessing
from fedsec.models.svdd import EPS
from fedsec.training.params import Params

#: Steps of the search for the best share ``w`` (a convex function of ``w`` on ``[s, 1]``).
SEARCH_STEPS = 100


@dataclass(frozen=True)
class CenterSeen:
    """What a site noted answering a Deep SVDD job's centre sums: its own mean embedding of
    its benign training rows and the radius no embedding under that network exceeds."""

    mean: np.ndarray
    radius: float


def input_reach(pre: Preprocessing) -> float:
    """The largest norm a preprocessed row can have: numeric inputs at ``+-clip``, each
    missing-value flag set, one hash bucket set per categorical column."""
    flags = sum(c.indicator for c in pre.numeric)
    return math.sqrt(len(pre.numeric) * pre.clip**2 + flags + len(pre.categorical))


def center_seen(pre: Preprocessing, params: Params, sums: np.ndarray) -> CenterSeen | None:
    """The note of this site's centre sums ``sums`` (embedding sums, then the row count) under
    the bias-free network ``params`` (None: no rows)."""
    rows = float(sums[-1])
    if rows <= 0:
        return None
    lipschitz = math.prod(float(np.linalg.norm(w, 2)) for w in params if np.ndim(w) == 2)
    return CenterSeen(np.asarray(sums[:-1], dtype=np.float64) / rows, lipschitz * input_reach(pre))


def excess(center: np.ndarray, seen: CenterSeen, share: float) -> float:
    """How far ``center`` lies beyond what a pooling with this site's share ``share`` allows:
    ``|c - w m| - (1 - w) R`` (positive: beyond)."""
    return float(np.linalg.norm(center - share * seen.mean)) - (1 - share) * seen.radius


def least_excess(center: np.ndarray, seen: CenterSeen, min_share: float) -> float:
    """The least :func:`excess` over the shares ``w`` in ``[min_share, 1]`` (convex in ``w``:
    a ternary search)."""
    low, high = min_share, 1.0
    for _ in range(SEARCH_STEPS):
        a, b = low + (high - low) / 3, high - (high - low) / 3
        if excess(center, seen, a) <= excess(center, seen, b):
            high = b
        else:
            low = a
    return min(excess(center, seen, w) for w in (min_share, (low + high) / 2, 1.0))


def center_refusal(center: list[float], seen: CenterSeen, min_share: float) -> str | None:
    """Why ``center`` cannot be an honest pooling of the sums this site answered (None: it
    can)."""
    c = np.asarray(center, dtype=np.float64)
    if c.shape != seen.mean.shape:
        return f"the Deep SVDD center has {c.size} values, the summed embeddings {seen.mean.size}"
    push = EPS * math.sqrt(len(c))
    beyond = least_excess(c, seen, min_share)
    if beyond <= push + SLACK * max(seen.radius, 1.0):
        return None
    return (
        f"the pooled Deep SVDD center lies {float(np.linalg.norm(c)):.6g} from the origin and "
        f"{float(np.linalg.norm(c - seen.mean)):.6g} from this site's mean embedding, "
        f"{beyond - push:.6g} beyond what an honest pooling allows (every embedding under the "
        f"network the center was summed under lies within {seen.radius:.6g} of the origin; "
        f"this site holds at least {min_share:g} of the rows, [limits] min_value_share)"
    )


def check_center(setup: Setup, seen: CenterSeen | None, min_share: float) -> None:
    """Refuse (:class:`SetupRefused`, one line) a Deep SVDD setup whose centre
    :func:`center_refusal` refuses; nothing to check without a centre or a note."""
    if not isinstance(setup, DetectorSetup) or setup.center is None or seen is None:
        return
    why = center_refusal(setup.center, seen, min_share)
    if why is not None:
        raise SetupRefused(f"model setup refused: {why}")

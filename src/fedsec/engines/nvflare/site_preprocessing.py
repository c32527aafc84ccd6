"""A site's check of the pooled preprocessing a job's setup carries, from its own rows only.

The coordinator fits the column list and each numeric column's mean and standard deviation
from the sites' statistics, then writes them into every setup it sends. A hostile one could
drop a site's column, or blind the model with a mean far from any site's values or a tiny
standard deviation (every standardized value at the clip). The site cannot see the others'
rows, but the law of total variance bounds what an honest pooling can give it.

For one column, with ``N`` present values over all sites, pooled mean ``mu`` and variance
``s2``, and this site's ``n`` values with mean ``m`` and variance ``v`` (in the column's own
space: log1p where the setup logs it)::

    N * s2 = sum_i n_i * (v_i + (m_i - mu)^2)  >=  n * (v + (m - mu)^2)

so ``v + (m - mu)^2 <= s2 / w`` with ``w = n / N`` this site's share of the column's values.
With ``w >= min_share`` (the site's ``[limits] min_value_share``), an honest pooling keeps this
site's root-mean-square distance from the pooled mean within ``1 / sqrt(min_share)`` pooled
standard deviations (10 at the default 0.01). A pooled mean outside the site's values widened
by that, or a standard deviation smaller than the site's own spread allows, is refused.

What one site cannot bound: a standard deviation too large (another site's values may honestly
be that wide). A model blinded that way is caught by the sites' signed detection rates
(:mod:`~fedsec.engines.nvflare.release_quality`). A deployment's statistics carry no DP noise
(DP statistics run in simulation only), so the pooled moments are exact sums of the sites'.
A tree job's site checks at boosting (its evaluation is of the booster it boosted).
"""

from __future__ import annotations

import math

import numpy as np

from fedsec.data.flows import FeatureFrame
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.setups import Setup
from fedsec.engines.nvflare.statistics import benign_rows
from fedsec.features.moments import signed_log1p
from fedsec.features.preprocess_schema import NumericColumn, Preprocessing
from fedsec.scenarios.federation import OrgData

#: Relative slack on the bound, for the rounding of sums merged in another order.
SLACK = 1e-6


class SetupRefused(PlanRefused):
    """A job's setup this site's own rows show no honest pooling could give (pooled
    preprocessing, a logs event index): refused for training, signed as refused at the
    evaluation (the admin's release names the reason)."""


def missing_columns(pre: Preprocessing, features: FeatureFrame) -> list[str]:
    """This site's feature columns the setup's preprocessing leaves out (dropped columns)."""
    numeric = {c.name for c in pre.numeric}
    categorical = set(pre.categorical)
    return [c for c in features.numeric if c not in numeric] + [
        c for c in features.categorical if c not in categorical
    ]


def column_refusal(column: NumericColumn, values: np.ndarray, min_share: float) -> str | None:
    """Why this site's ``values`` of one column show its pooled mean or standard deviation
    cannot come from an honest pooling with this site holding ``min_share`` of the values."""
    present = np.asarray(values, dtype=float)
    present = present[np.isfinite(present)]
    if len(present) == 0:
        return None
    if column.log:
        present = signed_log1p(present)
    spread = float(np.mean((present - column.mean) ** 2))  # v + (m - mu)^2
    allowed = column.std**2 / min_share
    if spread <= allowed * (1 + SLACK):
        return None
    mean, low, high = float(present.mean()), float(present.min()), float(present.max())
    return (
        f"column {column.name}: its pooled mean {column.mean:.6g} and standard deviation "
        f"{column.std:.6g} put this site's values (mean {mean:.6g}, range {low:.6g}..{high:.6g}) "
        f"{math.sqrt(spread) / column.std:.3g} pooled deviations from the pooled mean, more "
        f"than the {1 / math.sqrt(min_share):.3g} an honest pooling allows a site holding "
        f"{min_share:g} of the values ([limits] min_value_share)"
    )


def preprocessing_refusal(
    pre: Preprocessing, features: FeatureFrame, min_share: float
) -> str | None:
    """Why a job's pooled preprocessing is refused by this site's training ``features`` (the
    rows its statistics were computed on; None: it is within what honest sites can pool)."""
    dropped = missing_columns(pre, features)
    if dropped:
        return f"it leaves out this site's column(s) {dropped[:5]}"
    for column in pre.numeric:
        if column.name in features.frame:
            values = features.frame[column.name].to_numpy(dtype=float)
            if why := column_refusal(column, values, min_share):
                return why
    return None


def check_preprocessing(pre: Preprocessing, features: FeatureFrame, min_share: float) -> None:
    """Refuse (:class:`SetupRefused`, one line) a setup :func:`preprocessing_refusal`
    refuses."""
    why = preprocessing_refusal(pre, features, min_share)
    if why is not None:
        raise SetupRefused(f"model setup refused: the pooled preprocessing {why}")


def check_setup(setup: Setup, org: OrgData, min_share: float) -> None:
    """:func:`check_preprocessing` of a flow setup against the rows its statistics were
    computed on (an anomaly job's: the benign ones); a logs setup has no such statistics."""
    pre = getattr(setup, "preprocessing", None)
    if pre is None:
        return
    rows = benign_rows(org) if setup.task == "anomaly" else org
    check_preprocessing(pre, rows.train.features(setup.view), min_share)

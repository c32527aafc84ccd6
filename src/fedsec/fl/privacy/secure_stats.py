"""Preprocessing statistics under secure aggregation: the coordinator learns totals only.

Two secure sums (:mod:`fedsec.features.summaries`), each one more round of the secure-aggregation
protocol, with round numbers of their own (:data:`STATISTICS_ROUNDS`, below the training
rounds 1..N) and values carried exactly by :mod:`fedsec.fl.privacy.widesum`. The in-process
engine calls :func:`secure_statistics`; a deployment runs the same vectors through the
secure-aggregation tasks (:mod:`fedsec.engines.nvflare.statistics`), so both fit the same
preprocessing, equal to the one fitted in clear up to rounding at 2^-64.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import FeatureStats, union_columns
from fedsec.features.summaries import centres, centres_vector, combine, summaries_vector
from fedsec.fl.privacy import secagg
from fedsec.fl.privacy.widesum import narrow, widen

#: Secure-aggregation round numbers of the two statistics passes (training rounds are 1..N).
STATISTICS_ROUNDS = {"centres": -2, "summaries": -1}


@dataclass(frozen=True)
class OrgRows:
    """What one organization summarizes: its training features and their families."""

    name: str
    features: FeatureFrame
    families: np.ndarray


def secure_statistics(
    orgs: list[OrgRows], threshold: int | None = None
) -> tuple[FeatureStats, Counter]:
    """Feature summaries and rows per family of ``orgs``, merged by two secure sums."""
    numeric, categorical = union_columns(
        [(list(o.features.numeric), list(o.features.categorical)) for o in orgs]
    )
    parties = len(orgs)
    first = secagg.secure_sum(
        {o.name: widen(centres_vector(o.features, numeric), parties) for o in orgs},
        STATISTICS_ROUNDS["centres"],
        threshold,
    )
    centre, log_centre = centres(narrow(first.total), numeric)
    second = secagg.secure_sum(
        {
            o.name: widen(
                summaries_vector(o.features, o.families, numeric, centre, log_centre), parties
            )
            for o in orgs
        },
        STATISTICS_ROUNDS["summaries"],
        threshold,
    )
    return combine(narrow(second.total), numeric, categorical, centre, log_centre)

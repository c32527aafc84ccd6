"""Aggregation rules: how the coordinator combines the sites' results of one round.

A strategy composes one rule (:class:`~fedsec.fl.aggregation.base.Aggregation`) and applies its
server step to what the rule returns. :class:`WeightedMean` reads each update in clear;
:class:`ProtectedMean` computes the same mean from masked (secure aggregation) or encrypted (CKKS)
payloads, so the coordinator learns only the sum. Robust rules (median, trimmed mean) are one
more class here.
"""

from fedsec.fl.aggregation.base import Aggregation, Combined, RoundAborted, SiteResult
from fedsec.fl.aggregation.protected import ProtectedMean
from fedsec.fl.aggregation.weighted_mean import WeightedMean, weighted_average

__all__ = [
    "Aggregation",
    "Combined",
    "ProtectedMean",
    "RoundAborted",
    "SiteResult",
    "WeightedMean",
    "weighted_average",
]

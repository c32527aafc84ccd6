"""The weighted mean from protected payloads: the coordinator adds what it cannot read.

Wraps :func:`fedsec.fl.privacy.protect.protected_average`: every site's update (and its
strategy's extra arrays) travels as one payload, masked under secure aggregation, encrypted
under homomorphic encryption, clipped and noised under client-level DP.
"""

from __future__ import annotations

from fedsec.fl.aggregation.base import Combined, RoundAborted, SiteResult
from fedsec.fl.privacy.protect import ProtectionPlan, TooFewNoiseShares, protected_average
from fedsec.training.params import Params


class ProtectedMean:
    def __init__(self, plan: ProtectionPlan) -> None:
        self.plan = plan

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        updates = {name: r.update for name, r in results.items()}
        extras = {n: r.extra for n, r in results.items() if r.extra is not None}
        try:
            averaged, info = protected_average(
                global_params, updates, self.plan, round_, extras=extras or None
            )
        except TooFewNoiseShares as error:
            raise RoundAborted(str(error)) from error
        return Combined(
            averaged, extra_total=info.extra, weight_unit=self.plan.weight_unit, protection=info
        )

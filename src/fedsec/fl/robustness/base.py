"""Robust aggregation: the coordinator combines updates it can read while some may be hostile.

:class:`RobustAggregation` is an aggregation rule (see :mod:`fedsec.fl.aggregation`) that any
strategy composes: it turns each site's model into its change from the global model, caps the
sample counts sites claim (:mod:`fedsec.fl.robustness.samples`), lets a :class:`Rule` combine
the changes, and hands the strategy ``global + combined change`` for its server step. Every
round's decision (each site's share of the combined change, who was excluded, whose weight was
capped) is kept in :attr:`RobustAggregation.log`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from fedsec.fl.aggregation.base import Combined, SiteResult
from fedsec.fl.robustness.free_riders import free_riders
from fedsec.fl.robustness.samples import cap_weights
from fedsec.training.params import Params

#: A site whose share of the combined change is below this fraction of an equal share
#: (``1 / sites``) counts as down-weighted in the log.
DOWN_WEIGHTED = 0.5

#: Why a free-rider is left out, in the round's record.
FREE_RIDER = "free-rider: its change carries no training (the global model sent back)"


@dataclass
class Decision:
    """A rule's result: the combined change and each site's share of it (summing to 1;
    0 means the site's update was left out)."""

    delta: np.ndarray
    share: np.ndarray


class Rule(Protocol):
    """Combines the rows of ``deltas`` (one flattened change per site, ``sites`` naming them)
    given their weights; a rule may keep state across rounds per site. A rule that reads parts
    of the model (a layer) also defines ``see_layout(shapes)``, called with the parameters'
    shapes (in flattening order) before every round's ``combine``. A rule that leaves sites
    out for a reason it can state keeps ``why`` (site -> reason), copied into each round's
    record for the sites it excluded."""

    name: str

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision: ...


@dataclass
class RoundDefence:
    """What the defence did in one round."""

    round: int
    rule: str
    share: dict[str, float]
    excluded: list[str] = field(default_factory=list)
    down_weighted: list[str] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # why an excluded site was

    def to_json(self) -> dict:
        return {
            "round": self.round,
            "rule": self.rule,
            "share": {k: round(v, 4) for k, v in self.share.items()},
            "excluded": self.excluded,
            "down_weighted": self.down_weighted,
            "capped": self.capped,
            "reasons": self.reasons,
        }


def flatten(params: Params) -> np.ndarray:
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in params])


def unflatten(flat: np.ndarray, like: Params) -> Params:
    out, start = [], 0
    for p in like:
        out.append(flat[start : start + p.size].reshape(p.shape).astype(np.float32))
        start += p.size
    return out


class RuleCheckpoint:
    """What an aggregation's :class:`Rule` remembers between rounds, in and out of a
    checkpoint (:func:`rule_state`): shared by :class:`RobustAggregation` and the grouped
    secure aggregation, which run a rule over updates and over group sums."""

    rule: Rule
    like: Params | None  # the model's shapes, from the last round combined

    def state_dict(self) -> tuple[dict[str, Params], dict[str, Any]]:
        return rule_state(self.rule, self.like)

    def load_state(self, arrays: dict[str, Params], meta: dict[str, Any]) -> None:
        load_rule_state(self.rule, arrays, meta)


class RobustAggregation(RuleCheckpoint):
    """Sample counts capped, free-riders left out, then ``rule`` over the other sites' changes
    (read in clear).

    ``registered`` holds the rows each site declared when it joined: a round's claim above it
    is cut to it. A site whose change is no training (:mod:`~fedsec.fl.robustness.free_riders`)
    gets share 0 and is logged as excluded; the rule never sees it. Extras (SCAFFOLD's control
    changes) are passed on site by site, unfiltered."""

    def __init__(
        self, rule: Rule, registered: dict[str, int] | None = None, max_weight_ratio: float = 2.0
    ) -> None:
        self.rule, self.registered = rule, dict(registered or {})
        self.max_weight_ratio = max_weight_ratio
        self.log: list[RoundDefence] = []
        self.like: Params | None = None  # the model's shapes, from the last round combined

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        if not results:
            raise ValueError("cannot aggregate zero updates")
        sites = list(results)
        global_flat, self.like = flatten(global_params), global_params
        deltas = np.stack([flatten(results[s].update.params) - global_flat for s in sites])
        claimed = [results[s].update.num_samples for s in sites]
        weights, capped = cap_weights(sites, claimed, self.registered, self.max_weight_ratio)
        share = np.zeros(len(sites))
        idle = free_riders(deltas)
        kept = np.flatnonzero(~idle)
        see_layout = getattr(self.rule, "see_layout", None)
        if see_layout is not None:
            see_layout([tuple(np.shape(p)) for p in global_params])
        decision = self.rule.combine(
            deltas[kept], weights[kept], global_flat, [sites[i] for i in kept]
        )
        share[kept] = decision.share
        record = _record(round_, self.rule.name, sites, share, capped)
        explained = getattr(self.rule, "why", {})
        riders = {s: FREE_RIDER for s, out in zip(sites, idle, strict=True) if out}
        record.reasons = riders | {s: explained[s] for s in record.excluded if s in explained}
        self.log.append(record)
        params = unflatten(global_flat + decision.delta, global_params)
        extras = {n: r.extra for n, r in results.items() if r.extra is not None}
        return Combined(params, extras=extras or None)


def rule_state(rule: Rule, like: Params | None) -> tuple[dict[str, Params], dict[str, Any]]:
    """What ``rule`` remembers between rounds: arrays shaped like the model (``like``, the last
    round's) and JSON values; nothing for a rule that remembers nothing."""
    state = getattr(rule, "state", None)
    if state is None:
        return {}, {}
    arrays, meta = state()
    if arrays and like is None:
        raise ValueError(f"{rule.name} state: arrays before any round")
    return {k: unflatten(v, like or []) for k, v in arrays.items()}, {"rule": rule.name} | meta


def load_rule_state(rule: Rule, arrays: dict[str, Params], meta: dict[str, Any]) -> None:
    """Take up what :func:`rule_state` gave (a ValueError names what does not fit)."""
    restore = getattr(rule, "restore", None)
    if restore is None:
        if arrays or meta:
            raise ValueError(f"{rule.name} keeps no state; the checkpoint holds some")
        return
    if meta.get("rule") != rule.name:
        raise ValueError(f"defence state of rule {meta.get('rule')!r}, not {rule.name!r}")
    restore({k: flatten(v) for k, v in arrays.items()}, meta)


def _record(
    round_: int, rule: str, sites: list[str], share: np.ndarray, capped: list[str]
) -> RoundDefence:
    fair = 1.0 / len(sites)
    return RoundDefence(
        round_,
        rule,
        {s: float(v) for s, v in zip(sites, share, strict=True)},
        [s for s, v in zip(sites, share, strict=True) if v <= 0],
        [s for s, v in zip(sites, share, strict=True) if 0 < v < DOWN_WEIGHTED * fair],
        capped,
    )


def weighted_mean(deltas: np.ndarray, weights: np.ndarray) -> Decision:
    """The sample-weighted mean of the changes (the plain rule, after the sample cap)."""
    share = weights / weights.sum()
    return Decision(share @ deltas, share)


class Mean:
    """No robust rule: the weighted mean, with sample counts capped."""

    name = "mean"

    def combine(
        self, deltas: np.ndarray, weights: np.ndarray, global_flat: np.ndarray, sites: list[str]
    ) -> Decision:
        return weighted_mean(deltas, weights)

"""Robust aggregation under secure aggregation: secure sums inside small groups, a robust rule
across the group sums.

A robust rule must read individual updates; secure aggregation exists so that the coordinator
reads none. The known compromise (e.g. So, Güler and Avestimehr, "Byzantine-Resilient Secure
Federated Learning", IEEE JSAC 2021; Velicheti, Xia and Koyejo, "Secure Byzantine-Robust
Distributed Learning via Clustering", 2021) splits the sites into groups of ``group_size``: the
coordinator learns each group's secure sum (the pairwise-masked protocol of
:mod:`fedsec.fl.privacy.secagg`, every site requiring at least ``group_size`` contributors to
any sum it takes part in) and runs a robust rule (:mod:`fedsec.fl.robustness`) over the group
means, weighted by each group's revealed weight, the one inside its sum, uncapped: the sites'
statistics are secure sums too, so no site's own rows are known to cap it at (a dishonest
member can weigh its group up to the total rows the statistics declare, a bound only a
deployed coordinator checks).

Groups are fixed for the whole run (:func:`fixed_groups`: a seeded permutation of the sorted
registered sites, cut into groups of ``group_size``, a remainder joining the last group); a
round sums each group's sites present (:func:`groups_of`), and a group with fewer than
``group_size`` of them sits the round out rather than join another: the coordinator learns the
same sums every round, never sums of changing subsets it could difference into one site's
update, and claiming a site dropped out never puts another site with new group mates. What it
costs: one dishonest site spoils its whole group's sum, so the rule leaves out (or
down-weights) its honest group mates with it; fewer than three groups leave the rule nothing
to outvote; a site whose group lacks members that round (dropped out, or not sampled) is not
aggregated that round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fedsec.core import seeding
from fedsec.fl.aggregation.base import Combined, RoundAborted, SiteResult
from fedsec.fl.privacy import secagg
from fedsec.fl.privacy.protect import ProtectionPlan, RoundProtection, payload
from fedsec.fl.robustness.base import (
    RoundDefence,
    Rule,
    RuleCheckpoint,
    flatten,
    unflatten,
)
from fedsec.training.params import Params


def fixed_groups(members: list[str], group_size: int, seed: int) -> list[list[str]]:
    """The run's secure groups: a permutation of the sorted ``members`` fixed by ``seed``, cut
    into groups of ``group_size`` (a remainder joins the last group; one group if fewer). Every
    party computes them alike from the consortium's names and the agreed seed, in whatever
    order it holds the names."""
    names = sorted(set(members))
    order = [names[i] for i in seeding.rng(seed, "groups").permutation(len(names))]
    groups = [order[i : i + group_size] for i in range(0, len(order), group_size)]
    if len(groups) > 1 and len(groups[-1]) < group_size:
        remainder = groups.pop()
        groups[-1] = groups[-1] + remainder
    return groups


def groups_of(
    sites: list[str], registered: list[str], group_size: int, seed: int
) -> list[list[str]]:
    """The round's ``sites`` in the run's fixed groups (:func:`fixed_groups` of ``registered``):
    each group's members among ``sites``. A group with fewer than ``group_size`` of them sits
    the round out, as does a site not registered: merged into another group, a site would be
    summed with others than its own, and whoever reports who dropped out (the coordinator)
    could then choose its group mates."""
    present = set(sites)
    kept = (
        [s for s in group if s in present] for group in fixed_groups(registered, group_size, seed)
    )
    return [group for group in kept if len(group) >= group_size]


def own_group(site: str, members: list[str], group_size: int, seed: int) -> list[str]:
    """``site``'s fixed group among ``members`` (ValueError: it is not one of them)."""
    for group in fixed_groups(members, group_size, seed):
        if site in group:
            return sorted(group)
    raise ValueError(f"{site} is not one of the members {sorted(members)}")


@dataclass
class GroupSum:
    """What the coordinator learns of one group: its members and its weighted sum."""

    members: list[str]
    delta: np.ndarray  # the group's weighted mean change
    weight: float  # its members' summed weight, as revealed
    masked: dict[str, np.ndarray]  # what the coordinator saw of each member


#: How one group's secure sum is taken: (global model, the round's results, the group's
#: members, round) -> what the coordinator learns of it. In-process by default; a deployment
#: runs the secure-aggregation phases over its sites' tasks.
GroupSummer = Callable[[Params, dict[str, SiteResult], list[str], int], "GroupSum"]


class GroupedSecureAggregation(RuleCheckpoint):
    """Secure sums in fixed groups of ``group_size``; ``rule`` across the group means, each
    weighed by the weight inside its sum.

    ``members``: the run's registered sites, the consortium the groups are cut from.
    ``summer`` takes one group's secure sum (default: the in-process protocol on the sites'
    payloads)."""

    def __init__(
        self,
        rule: Rule,
        plan: ProtectionPlan,
        group_size: int,
        members: list[str],
        summer: GroupSummer | None = None,
    ) -> None:
        if group_size < 2:
            raise ValueError("a secure group needs at least 2 sites (a sum of one is its update)")
        self.rule, self.plan, self.group_size = rule, plan, group_size
        self.members = sorted(members)
        self.summer = summer or self.group_sum
        self.log: list[RoundDefence] = []
        self.seen: list[list[GroupSum]] = []  # what the coordinator learnt, round by round
        self.like: Params | None = None  # the model's shapes, from the last round combined

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        if any(r.extra is not None for r in results.values()):
            raise ValueError("grouped secure aggregation does not carry extra arrays (SCAFFOLD)")
        groups = groups_of(list(results), self.members, self.group_size, self.plan.seed)
        if not groups:
            raise RoundAborted(
                f"no secure group has {self.group_size} of the round's sites "
                f"({', '.join(sorted(results))}): no group sum to aggregate"
            )
        sums = [self.summer(global_params, results, g, round_) for g in groups]
        return self.combine_sums(global_params, sums, round_)

    def groups(self) -> list[list[str]]:
        """The run's fixed groups (:func:`fixed_groups`)."""
        return fixed_groups(self.members, self.group_size, self.plan.seed)

    def combine_sums(self, global_params: Params, sums: list[GroupSum], round_: int) -> Combined:
        """The rule across the round's group sums (the coordinator's, and the admin's replay
        from the sums the groups verified)."""
        self.seen.append(sums)
        self.like = global_params
        weights = np.asarray([s.weight for s in sums], dtype=np.float64)
        names = ["+".join(s.members) for s in sums]
        global_flat = flatten(global_params)
        deltas = np.stack([s.delta for s in sums])
        decision = self.rule.combine(deltas, weights, global_flat, names)
        why = getattr(self.rule, "why", {})
        reasons = [why.get(name) for name in names]
        self.log.append(_record(round_, self.rule.name, sums, decision.share, reasons))
        params = unflatten(global_flat + decision.delta, global_params)
        survivors = sorted(m for s in sums for m in s.members)
        return Combined(params, protection=RoundProtection(survivors=survivors))

    def group_sum(
        self, global_params: Params, results: dict[str, SiteResult], members: list[str], round_: int
    ) -> GroupSum:
        vectors = {
            m: payload(global_params, results[m].update, self.plan, len(results), m, round_)[0]
            for m in members
        }
        summed = secagg.secure_sum(
            vectors, round_, self.plan.threshold, min_contributors=self.group_size
        )
        total = np.asarray(summed.total, dtype=np.float64)
        weight = float(total[-1])
        if weight <= 0:
            raise ValueError(f"group {members}: its revealed weight is not positive")
        return GroupSum(members, total[:-1] / weight, weight, summed.masked)


def _record(
    round_: int,
    rule: str,
    sums: list[GroupSum],
    share: np.ndarray,
    reasons: list[str | None],
) -> RoundDefence:
    """The round's decision per site: each member carries an equal part of its group's share
    and the reason its group was left out (the coordinator cannot tell members apart)."""
    per_site = {
        m: float(v) / len(s.members) for s, v in zip(sums, share, strict=True) for m in s.members
    }
    fair = 1.0 / len(sums)
    excluded = [m for s, v in zip(sums, share, strict=True) if v <= 0 for m in s.members]
    down = [m for s, v in zip(sums, share, strict=True) if 0 < v < 0.5 * fair for m in s.members]
    why = {
        m: f"its group {'+'.join(s.members)}: {reason}"
        for s, v, reason in zip(sums, share, reasons, strict=True)
        if v <= 0 and reason
        for m in s.members
    }
    return RoundDefence(round_, f"grouped {rule}", per_site, excluded, down, reasons=why)

"""The admin's replay of a round under secure aggregation: from the sum its survivors verified.

Under secure aggregation the coordinator never holds an update in clear, only the unmasked sum
of the survivors' vectors, which ends in check values keyed by seeds the sites sealed for each
other. Every survivor verifies that sum before the round goes on and signs its sha256, bound
to the survivors it revealed it over (:func:`~fedsec.engines.nvflare.signing.survivors_digest`),
into the chain its final evaluation signs (:mod:`.site_chain`); the coordinator keeps the sum
and its survivors in the job's transcript. The replay (:mod:`.release_chain`) takes a round's
sum only if every evaluating site that survived the round signed it verified that very sum
over those very survivors (and no site signed another: a survivor erased from the transcript,
whose masked update the sum holds, is refused), then turns it into the round's combination
with the coordinator's own function
(:func:`~fedsec.engines.nvflare.rounds.combined_from_total`), on which the strategy steps as
in clear.

Under grouped secure aggregation (``privacy.secagg_group_size`` with a ``[robustness]`` rule)
each group's sum is verified by its own survivors, each signing the sha256 of its group's sum
bound to the group's survivors;
the transcript keeps every group's sum and survivors. The replay (:class:`GroupReplay`) takes a
group's sum only if every evaluating survivor of that group signed it (and no site signed a sum
other than its group's, :func:`groups_refusal`), then runs the coordinator's own rule across
the groups (:meth:`~fedsec.fl.aggregation.grouped.GroupedSecureAggregation.combine_sums`, the
same instance across rounds: its memory, e.g. ``pair_conflict``'s, is replayed too), once each
group's survivors are within one of the job's fixed groups, recomputed from the scenario's
organizations and seed (:meth:`GroupReplay.grouping_refusal`). Each group weighs what the weight
inside its verified sum says, capped at nothing: the job's statistics are secure sums, so no
site's own rows are known to cap it at, and a result giving rows per site (the coordinator's
word) is refused (:func:`grouped_rows_refusal`).

Under homomorphic encryption every contributor decrypts the round's sum it recomputed itself
from the contributors' signed ciphertexts (:mod:`.site_he`) and signs the sha256 of the total
it decrypted, bound to the contributor list every contributor signed
(:func:`~fedsec.engines.nvflare.signing.decrypted_digest`): CKKS decryption of one ciphertext
under one key is deterministic, so honest contributors sign one digest. The coordinator keeps
the total in the transcript (its float64 bytes as uint32 words); the replay takes it only if
every evaluating contributor signed that very digest (:func:`sum_refusal` with
``homomorphic``), then steps the strategy from it as under secure aggregation.

What this leaves open: a coordinator colluding with one site knows the check key and can forge
a sum the others accept (:mod:`fedsec.fl.privacy.secagg.checks`); an evaluating site that
signed nothing for a round it survived fails the release, whatever the reason (docs/
deployment.md). Under HE a site holds the consortium's key: a coordinator colluding with one
contributor can have the others decrypt only the honest sum (which they sign), but the
colluding site could decrypt alone any ciphertext it is handed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from fedsec.engines.nvflare.records import RoundTranscript, VerifiedSum
from fedsec.engines.nvflare.release_records import SHORT, Sighting
from fedsec.engines.nvflare.rounds import combined_from_total
from fedsec.engines.nvflare.secure import decoded
from fedsec.engines.nvflare.signing import (
    decrypted_digest,
    decrypted_total,
    sum_digest,
    survivors_digest,
)
from fedsec.fl.aggregation import Combined, SiteResult
from fedsec.fl.aggregation.grouped import GroupedSecureAggregation, GroupSum
from fedsec.training.params import Params
from fedsec.training.plan import Update


class SumReplay:
    """The aggregation the replay's strategy runs under secure aggregation: the combination
    of the round's verified sum (:meth:`results` sets the round), as the coordinator's; under
    HE (``homomorphic``) of the round's decrypted total its contributors signed."""

    def __init__(self, weight_unit: float, homomorphic: bool = False) -> None:
        self.weight_unit, self.homomorphic = weight_unit, homomorphic
        self.entry: RoundTranscript | None = None
        #: the shapes of the extras the sites sum with their change (the strategy's; SCAFFOLD's
        #: control changes), set by the replay (None: they send none)
        self.extra_like: Callable[[Params], Params | None] = lambda params: None

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        assert self.entry is not None and self.entry.sum is not None
        like = self.extra_like(global_params)
        size = sum(p.size for p in [*global_params, *(like or [])]) + 1
        try:
            total = (decrypted_total if self.homomorphic else decoded)(self.entry.sum)
            if not np.isfinite(total).all():
                raise ValueError("it holds NaN or Infinity")
            if total.shape != (size,):  # the model's values, the strategy's extras, the weight
                raise ValueError(f"{total.size} values, where the model takes {size}")
            return combined_from_total(global_params, total, self.weight_unit, like)
        except ValueError as error:
            raise ValueError(f"round {round_}'s verified sum: {error}") from None

    def results(self, entry: RoundTranscript) -> dict[str, SiteResult]:
        """What the strategy is told of the round's sites: its survivors, nothing in clear."""
        self.entry = entry
        return {site: SiteResult(Update([], 0)) for site in entry.survivors}


def sum_refusal(
    entry: RoundTranscript,
    seen: list[Sighting],
    job: str,
    evaluating: Collection[str],
    homomorphic: bool = False,
) -> str | None:
    """Why round ``entry.round``'s secure sum is not the one its sites verified (None: every
    evaluating survivor signed its digest, and no site signed another). ``job``: the job that
    aggregated the round, whose records the sites' entries must name. Under HE
    (``homomorphic``) the sum is the decrypted total and its survivors the contributors, each
    of which decrypted it and signed its digest bound to their list
    (:func:`~fedsec.engines.nvflare.signing.decrypted_digest`)."""
    round_ = entry.round
    if entry.sum is None or entry.updates:
        return (
            f"the transcript's round {round_} holds no secure sum (updates in clear), where the "
            "job aggregates under secure aggregation"
        )
    if homomorphic:
        digest = decrypted_digest(entry.sum, entry.survivors)
    else:
        digest = survivors_digest(sum_digest(entry.sum), entry.survivors)
    signed = {s.site: s.sum for s in seen if s.job == job and s.round == round_}
    for site, said in sorted(signed.items()):
        if said is not None and said != digest:
            return (
                f"{site} signed it verified sum {said[:SHORT]} in round {round_}, not the "
                f"transcript's sum ({digest[:SHORT]}) over its survivors "
                f"({', '.join(map(str, entry.survivors))[:200]})"
            )
    vouching = [site for site in sorted(entry.survivors) if site in evaluating]
    for site in vouching:
        if signed.get(site) is None:
            return (
                f"{site} survived round {round_}'s secure sum but signed no verified sum of it "
                "(the coordinator skipped the sites' verify phase): the round cannot be replayed"
            )
    if not vouching:
        return f"no evaluating site survived round {round_}'s secure sum to vouch for it"
    return None


class GroupReplay:
    """The aggregation the replay's strategy runs under grouped secure aggregation: the
    coordinator's rule across the round's verified group sums (:meth:`results` sets it)."""

    def __init__(self, grouped: GroupedSecureAggregation) -> None:
        self.grouped = grouped
        self.log = grouped.log  # the rule's decisions, round by round
        self.entry: RoundTranscript | None = None

    def combine(
        self, global_params: Params, results: dict[str, SiteResult], round_: int
    ) -> Combined:
        assert self.entry is not None
        size = sum(p.size for p in global_params) + 1
        sums = [_group_sum(g, size, round_, k) for k, g in enumerate(self.entry.groups)]
        return self.grouped.combine_sums(global_params, sums, round_)

    def grouping_refusal(self, entry: RoundTranscript) -> str | None:
        """Why round ``entry.round``'s groups are not the job's fixed groups (None: each
        group's survivors are at least ``group_size`` sites of one fixed group, in the fixed
        groups' order, no fixed group twice): the groups are the scenario's, cut from its
        organizations by its seed, never the coordinator's word."""
        fixed, size = self.grouped.groups(), self.grouped.group_size
        last = -1
        for k, group in enumerate(entry.groups):
            named = f"group {k} ({'+'.join(group.survivors)}) of round {entry.round}"
            j = next((j for j, f in enumerate(fixed) if set(group.survivors) <= set(f)), None)
            if j is None:
                told = ", ".join("+".join(sorted(f)) for f in fixed)
                return (
                    f"{named} is not within one of the job's secure groups ({told}: the "
                    "scenario's organizations cut by its seed): the coordinator regrouped sites"
                )
            if len(set(group.survivors)) < size:
                return f"{named} has fewer than the job's group size of {size} sites"
            if j <= last:
                return f"{named} repeats a secure group or breaks the groups' fixed order"
            last = j
        return None

    def results(self, entry: RoundTranscript) -> dict[str, SiteResult]:
        """What the strategy is told of the round's sites: its groups' survivors."""
        self.entry = entry
        return {s: SiteResult(Update([], 0)) for g in entry.groups for s in g.survivors}


def _group_sum(group: VerifiedSum, size: int, round_: int, k: int) -> GroupSum:
    """A verified group sum as the coordinator took it (:meth:`.rounds.DeployedMean.group_sum`)."""
    total = decoded(group.sum)
    if total.shape != (size,) or not total[-1] > 0:
        raise ValueError(
            f"round {round_}'s verified sum of group {k} ({'+'.join(group.survivors)}): "
            f"{total.size} values with weight {total[-1] if total.size else 'none'}, where the "
            f"model takes {size} and a positive weight"
        )
    weight = float(total[-1])
    return GroupSum(list(group.survivors), np.asarray(total[:-1]) / weight, weight, {})


def groups_refusal(
    entry: RoundTranscript, seen: list[Sighting], job: str, evaluating: Collection[str]
) -> str | None:
    """Why round ``entry.round``'s group sums are not the ones their groups verified (None:
    every evaluating survivor of each group signed its group's digest, and no site signed
    another sum)."""
    round_ = entry.round
    if not entry.groups or entry.sum is not None or entry.updates:
        return (
            f"the transcript's round {round_} holds no verified group sums, where the job "
            "aggregates under grouped secure aggregation"
        )
    signed = {s.site: s.sum for s in seen if s.job == job and s.round == round_}
    owner: dict[str, tuple[int, str]] = {}
    for k, group in enumerate(entry.groups):
        digest = survivors_digest(sum_digest(group.sum), group.survivors)
        for site in group.survivors:
            if site in owner:
                return f"{site} is a survivor of two groups in round {round_}'s transcript"
            owner[site] = (k, digest)
        if not any(site in evaluating for site in group.survivors):
            return (
                f"no evaluating site survived group {k} ({'+'.join(group.survivors)}) of round "
                f"{round_} to vouch for its sum ({digest[:SHORT]})"
            )
    for site, said in sorted(signed.items()):
        k, digest = owner.get(site, (None, None))
        if said is not None and said != digest:
            where = f"of its group {k} ({digest[:SHORT]})" if k is not None else "of any group"
            return (
                f"{site} signed it verified sum {said[:SHORT]} in round {round_}, not the "
                f"transcript's sum {where}"
            )
    for site, (k, digest) in sorted(owner.items()):
        if site in evaluating and signed.get(site) is None:
            return (
                f"{site} survived group {k}'s secure sum ({digest[:SHORT]}) in round {round_} "
                "but signed no verified sum of it: the round cannot be replayed"
            )
    return None


def grouped_rows_refusal(statistics: dict[str, Any]) -> str | None:
    """Why a grouped job's statistics are not ones its sites summed securely (None: they give
    no site's own rows). Grouped secure aggregation needs secure aggregation, whose statistics
    are secure sums: each site reveals its rows only inside them, so neither the coordinator's
    round nor the replay caps a group's weight at its members' rows; the rule weighs each group
    by the weight inside its verified sum. Rows per site in the result are the coordinator's
    word: capping at them would let it lower an honest group's weight in the rule, alike in its
    round and in a replay reading them."""
    per_site = statistics.get("rows_per_site")
    if per_site is None:
        return None
    told = (
        ", ".join(f"{site}: {rows}" for site, rows in sorted(per_site.items(), key=str))
        if isinstance(per_site, dict)
        else repr(per_site)
    )
    return (
        f"the result's statistics give rows per site ({told}), which a job under grouped "
        "secure aggregation never gathers (its sites sum their statistics securely and reveal "
        "no row count of their own): rows a coordinator adds would cap a group's weight"
    )

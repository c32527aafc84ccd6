"""A site's part in the secure sums of one job: the client phases as tasks, its own policy.

Each sum runs ``fedsec_secagg_share`` → ``_mask`` → ``_confirm`` → ``_reveal`` → ``_verify``
after the task that produced the vector (``fedsec_train`` for updates) returned the site's
endorsed advertisement. At ``_verify`` the coordinator announces the unmasked sum with its check
values: the site verifies it (:meth:`~fedsec.fl.privacy.secagg.SecAggClient.verify`: a sum the
coordinator altered, scaled or replaced is refused) and keeps its sha256
(:attr:`SiteSecAgg.verified`; a training round's goes into the chain the site signs,
:mod:`.site_chain`). Every request is checked against what the site already did and against
its own ``[secure_aggregation]`` config (:class:`~fedsec.fl.privacy.secagg.SecAggPolicy`); the first
mismatch ends the site's part in that sum with a :class:`PlanRefused` naming the phase and the
reason (the executor logs it; the coordinator records it). A site sends at most one masked
vector per round of a job: two differently masked copies of one update could be subtracted.
Every other party on a roster must be a site certificate of the project
(:meth:`~fedsec.engines.nvflare.identity.KitIdentity.check`) and, if the site's config lists
``members``, one of them: a party the coordinator made up never counts toward
``min_contributors``, the Shamir threshold or ``colluding_sites``. Under grouped secure
aggregation (``group_size`` and ``group_seed`` in the config) a training update's sum counts
only parties of the site's own fixed group
(:func:`~fedsec.fl.aggregation.grouped.fixed_groups` of its ``members``): the coordinator
cannot choose who a site is summed with, nor regroup it by saying others dropped out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fedsec.engines.nvflare import wire
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.signing import sum_digest, survivors_digest
from fedsec.engines.nvflare.site_config import SecureAggregationConfig
from fedsec.fl.privacy.secagg import SecAggClient, SecAggError, SecAggPolicy
from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError, encode


@dataclass
class Pending:
    """One secure sum in progress at this site."""

    client: SecAggClient
    vector: np.ndarray | None  # dropped once masked
    sampled: int
    required: list[str] | None = None  # the only survivors this sum may be revealed over
    pin: Callable[[list[str]], None] | None = None  # records the survivors, or refuses them
    length: int = 0  # values of its masked vector, check values included (once masked)
    group: list[str] | None = None  # the only parties it may be summed with (its fixed group)


Action = Callable[[Pending, dict[str, Any]], dict[str, Any]]


class SiteSecAgg:
    def __init__(
        self, name: str, config: SecureAggregationConfig, keys: KitIdentity | None, job: str
    ) -> None:
        self.name, self.config, self.keys, self.job = name, config, keys, job
        self.pending: dict[int, Pending] = {}
        self.revealed: dict[int, list[str]] = {}  # round -> the survivors it was revealed over
        self.verified: dict[int, str] = {}  # round -> sha256 of the sum this site verified
        self._masked: set[int] = set()  # rounds this site sent a masked vector for

    def check_new(self, round_: int) -> None:
        if round_ in self._masked:
            raise PlanRefused(
                f"secure aggregation refused: site {self.name} already sent a masked update "
                f"for round {round_} of this job (two differently masked copies could be "
                "subtracted)"
            )

    def start(
        self,
        round_: int,
        vector: np.ndarray,
        sampled: int,
        requested: int | None,
        task: bytes,
        required: list[str] | None = None,
        least: int | None = None,
        pin: Callable[[list[str]], None] | None = None,
        group: list[str] | None = None,
    ) -> dict[str, Any]:
        """A new sum of ``vector``: this site's advertisement, endorsed by its kit. ``task`` is
        the digest of the request ``vector`` answers (:func:`~fedsec.engines.nvflare.wire.
        task_digest`): this site shares its keys only if every party answered the same one.
        ``required`` pins the survivors the sum may be revealed over (a second sum over other
        sites than a first one would expose the difference); ``least`` raises the fewest
        contributors it reveals for (the organizations its noise shares cover); ``pin`` is
        given the survivors before this site reveals a share, and may refuse them (a site's
        statistics across jobs: :mod:`~fedsec.engines.nvflare.site_rosters`); ``group`` is the
        only parties the sum may count (grouped secure aggregation: the site's fixed group)."""
        self.check_new(round_)
        minimum = max(self.config.min_contributors or 0, least or 0) or None
        policy = SecAggPolicy(minimum, self.config.colluding_sites, requested)
        client = SecAggClient(self.name, round_, policy, task)
        self.pending = {round_: Pending(client, vector, sampled, required, pin, group=group)}
        advert = client.advertise()
        endorsement = self.keys.endorse(self.job, round_, advert) if self.keys else None
        return {"advertisement": wire.advert_to_wire(advert), "endorsement": endorsement}

    def step(self, phase: str, data: dict[str, Any], action: Action) -> dict[str, Any]:
        """Run one phase; any refusal ends this site's part in the sum, with the reason."""
        round_ = data.get("round")
        state = self.pending.get(round_) if isinstance(round_, int) else None
        if state is None:
            raise PlanRefused(
                f"secure aggregation refused ({phase}): none in progress for round {round_!r}"
            )
        try:
            return action(state, data)
        except (SecAggError, PlanRefused, EncodingOverflowError) as error:
            state.vector = None
            if state.client.phase != "refused":
                state.client.refuse(str(error))
            raise PlanRefused(
                f"secure aggregation refused ({phase}, round {round_}): {error}"
            ) from None

    def share(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.step("share", data, self._share)

    def mask(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.step("mask", data, self._mask)

    def confirm(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.step("confirm", data, self._confirm)

    def reveal(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.step("reveal", data, self._reveal)

    def verify(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.step("verify", data, self._verify)

    def _share(self, state: Pending, data: dict[str, Any]) -> dict[str, Any]:
        entries = data.get("roster")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise PlanRefused("roster: expected a list of endorsed advertisements")
        adverts = [wire.advert_from_wire(e.get("advertisement")) for e in entries]
        members = self.config.members
        for advert, entry in zip(adverts, entries, strict=True):
            if advert.sender == self.name:
                continue
            if members is not None and advert.sender not in members:
                raise PlanRefused(
                    f"roster: party {advert.sender!r} refused: not a member of this consortium "
                    f"([secure_aggregation] members: {', '.join(members)})"
                )
            if state.group is not None and advert.sender not in state.group:
                raise PlanRefused(
                    f"roster: party {advert.sender!r} refused: not in site {self.name}'s secure "
                    f"group ({'+'.join(state.group)}, the fixed group its [secure_aggregation] "
                    "group_size and group_seed cut from its members): the coordinator regrouped "
                    "the sites"
                )
            if self.keys is not None:
                self.keys.check(self.job, state.client.round, advert, entry.get("endorsement"))
        roster = {a.sender: a for a in adverts}
        if len(roster) != len(adverts):
            raise PlanRefused("roster: an organization appears twice")
        if len(roster) > state.sampled:
            raise PlanRefused(f"roster: {len(roster)} parties, {state.sampled} selected")
        shares = state.client.share(roster)
        return {
            "shares": [wire.share_to_wire(s) for s in shares],
            "threshold": state.client.threshold,
        }

    def _mask(self, state: Pending, data: dict[str, Any]) -> dict[str, Any]:
        participants = wire.names_from_wire(data.get("participants"), "participants")
        inbox = data.get("inbox") or {}
        mine = inbox.get(self.name, []) if isinstance(inbox, dict) else None
        if not isinstance(mine, list):
            raise PlanRefused("inbox: expected sealed shares by recipient")
        state.client.receive([wire.share_from_wire(s) for s in mine])
        if state.vector is None:
            raise PlanRefused("no vector to mask")
        encoded = encode(state.vector, len(state.client.roster))
        masked = state.client.masked_input(encoded, participants)
        self._masked.add(state.client.round)
        state.length = len(masked)
        state.vector = None
        return {"masked": masked}

    def _confirm(self, state: Pending, data: dict[str, Any]) -> dict[str, Any]:
        survivors = wire.names_from_wire(data.get("survivors"), "survivors")
        dropped = wire.names_from_wire(data.get("dropped"), "dropped")
        if state.required is not None and sorted(survivors) != state.required:
            raise PlanRefused(f"this sum must be over {state.required} exactly")
        item = state.client.confirm(survivors, dropped)
        return {"confirmation": wire.confirmation_to_wire(item)}

    def _reveal(self, state: Pending, data: dict[str, Any]) -> dict[str, Any]:
        survivors = wire.names_from_wire(data.get("survivors"), "survivors")
        dropped = wire.names_from_wire(data.get("dropped"), "dropped")
        confirmations = wire.confirmations_from_wire(data.get("confirmations"))
        reveals = state.client.reveal(survivors, dropped, confirmations)
        if state.pin is not None:
            state.pin(sorted(survivors))
        self.revealed[state.client.round] = sorted(survivors)
        return {"reveals": [wire.reveal_to_wire(r) for r in reveals]}

    def _verify(self, state: Pending, data: dict[str, Any]) -> dict[str, Any]:
        survivors = wire.names_from_wire(data.get("survivors"), "survivors")
        if sorted(survivors) != sorted(state.client.survivors):
            raise PlanRefused(
                f"sum: announced over {sorted(survivors)}, revealed over "
                f"{sorted(state.client.survivors)}"
            )
        try:
            total = wire.vector_from_wire(data.get("sum"), state.length, np.uint32, "sum")
        except ValueError as error:
            raise PlanRefused(str(error)) from None
        state.client.verify(total)
        digest = sum_digest(total)
        self.verified[state.client.round] = digest
        return {"verified": digest}

    def verified_over(self, round_: int) -> str | None:
        """The sha256 of the sum of ``round_`` this site verified, bound to the survivors it
        revealed it over (:func:`~fedsec.engines.nvflare.signing.survivors_digest`: what it
        signs of that sum; None: it verified no sum that round)."""
        if (digest := self.verified.get(round_)) is None:
            return None
        return survivors_digest(digest, self.revealed.get(round_, []))

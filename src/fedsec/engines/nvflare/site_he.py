"""A site's homomorphic-encryption session for one job: encrypt its payload, decrypt a sum once.

The kit's CKKS context (with the consortium's secret key) is loaded when a job first asks for
encryption. The site signs the ciphertext it sends (:mod:`.he_signed`). It decrypts only the
sum of the round it contributed to, once, when the coordinator names it and at least one other
contributor (at least its ``[secure_aggregation] min_contributors``, each one of its
``members`` when listed), and only the sum it recomputed itself from the contributors' own
signed ciphertexts of this job and round (:func:`~.he_signed.checked_sum`): one site's
ciphertext passed off as a sum, a ciphertext its named contributor did not sign, a stale
round's or one relayed twice is refused. Before any site decrypts, each contributor signs the
round's contributor list, one list a round (:meth:`HeSession.contributors`, :mod:`.he_lists`),
and a site decrypts only the list it signed, once every contributor on it signed the same: the
coordinator cannot have two sites decrypt sums over different sets and subtract them. The
site then signs the sha256 of the total it decrypted, bound to that list, into the chain its
final evaluation signs (:meth:`~fedsec.engines.nvflare.site.Site.decrypt_sum`): the admin
replays the round from that total only (:mod:`.release_sums`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fedsec.engines.nvflare.he_lists import ListTask, check_lists, sign_list
from fedsec.engines.nvflare.he_signed import (
    Contribution,
    check_signed,
    checked_sum,
    sign_ciphertext,
)
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.messages import DecryptTask
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.site_config import SecureAggregationConfig
from fedsec.fl.privacy import he


@dataclass
class Encrypted:
    """One round's encrypted update, awaiting the sum this site is asked to decrypt."""

    round: int
    digest: str
    length: int


class HeSession:
    def __init__(
        self,
        name: str,
        key: Callable[[], bytes] | None,
        parties: SecureAggregationConfig | None = None,
        keys: KitIdentity | None = None,
        job: str = "",
    ) -> None:
        self.name, self._key, self.keys, self.job = name, key, keys, job
        self.parties = parties or SecureAggregationConfig()
        self._context: Any = None
        self.pending: Encrypted | None = None
        self.listed: dict[int, list[str]] = {}  # round -> the contributor list it signed

    def context(self) -> Any:
        """The kit's CKKS context with its secret key (refused when the kit has none)."""
        if self._context is None:
            if self._key is None:
                raise PlanRefused(
                    f"site {self.name} has no homomorphic-encryption key: its kit was "
                    "provisioned without --he"
                )
            self._context = he.load_context(self._key(), True, f"site {self.name} HE key")
        return self._context

    def encrypt(self, round_: int, vector: np.ndarray) -> tuple[list[bytes], dict | None]:
        """``vector`` encrypted, and this site's signed statement of it (None without kit
        keys); the site then awaits the round's sum to decrypt."""
        chunks = he.encrypt(self.context(), vector)
        self.pending = Encrypted(round_, he.digest(chunks), len(vector))
        return chunks, sign_ciphertext(self.keys, self.job, round_, chunks)

    def contributors(self, data: dict[str, Any]) -> dict[str, Any]:
        """Sign the round's contributor list: one list a round, one this site may decrypt."""
        request = ListTask.from_wire(data)
        self.check_request(request.round, request.contributors)
        names = sorted(request.contributors)
        signed = self.listed.setdefault(request.round, names)
        if signed != names:
            raise PlanRefused(
                f"contributor list refused: site {self.name} signed {signed} for round "
                f"{request.round} already and signs one list a round (two sums over different "
                "sites would expose their difference)"
            )
        return {"signed": sign_list(self.keys, self.job, request.round, names)}

    def check_request(self, round_: int, contributors: list[str]) -> None:
        """Refuse a sum of a round this site awaits none of, or not holding it, or too few,
        or strangers."""
        pending = self.pending
        if pending is None or pending.round != round_:
            raise PlanRefused(f"decryption refused: no encrypted update of round {round_!r} here")
        if self.name not in contributors or len(contributors) < 2:
            raise PlanRefused(
                "decryption refused: the sum must hold this site's update and at least one other"
            )
        self.check_contributors(contributors)

    def decrypt(self, data: dict[str, Any]) -> dict[str, Any]:
        """Decrypt the round's encrypted sum, once, if this site contributed to it and every
        contributor signed its list."""
        request = DecryptTask.from_wire(data)
        self.check_request(request.round, request.contributors)
        pending = self.pending
        assert pending is not None  # checked above
        if self.listed.get(request.round) != sorted(request.contributors):
            raise PlanRefused(
                f"decryption refused: {sorted(request.contributors)} is not the contributor "
                f"list site {self.name} signed for round {request.round}"
            )
        if self.keys is not None:
            check_lists(self.keys, self.job, request.round, request.contributors, request.lists)
        updates = {s: Contribution.from_wire(u, s) for s, u in request.updates.items()}
        keys = self.keys
        check = None
        if keys is not None:
            check = functools.partial(check_signed, keys, self.job, request.round)
        own = (self.name, pending.digest)
        ciphertext = checked_sum(self.context(), updates, own, request.total, check)
        self.pending = None  # one decryption per round
        total = he.decrypt(self.context(), ciphertext, pending.length, "encrypted sum")
        return {"total": total}

    def check_contributors(self, contributors: list[str]) -> None:
        """Refuse a sum whose named contributors are fewer than this site's
        ``min_contributors`` or include a site not in its ``members`` (when listed)."""
        least = self.parties.min_contributors or 2
        if len(contributors) < least:
            raise PlanRefused(
                f"decryption refused: the sum names {len(contributors)} contributors; site "
                f"{self.name} decrypts sums of at least {least} (min_contributors)"
            )
        members = self.parties.members
        strangers = sorted(set(contributors) - set(members)) if members is not None else []
        if strangers:
            raise PlanRefused(
                f"decryption refused: {strangers} not among site {self.name}'s members"
            )

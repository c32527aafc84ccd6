"""Signed ciphertexts under homomorphic encryption: a site decrypts only a sum it recomputed.

A site cannot tell a CKKS ciphertext that is a sum from one site's single update, and the
contributors the coordinator names were its word alone: a hostile coordinator could hand one
site another site's ciphertext "as the sum" and read that update. So each site signs the
sha256 of its ciphertext bound to the job, the round and its name (:func:`sign_ciphertext`,
its kit's key, :mod:`.signing`) when it sends it, and a site asked to decrypt receives each
contributor's ciphertext with that statement (:class:`Contribution`), checks every one
(:func:`checked_sum`: its certificate is the project's site certificate of the contributor
named, the statement is of this job and round, the ciphertext is the one signed, no ciphertext
twice, its own the one it sent), adds them itself and decrypts only that sum, once it equals,
bit for bit (sha256 of the serialized ciphertexts), the sum the coordinator says it made.
CKKS addition is exact and deterministic, so honest sums always agree.

A site without kit keys (a site object outside a deployment) signs and checks no statement;
it still sums the ciphertexts itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fedsec.engines.nvflare import wire
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.signing import Unsigned, open_signed, sign_round
from fedsec.fl.privacy import he

KIND = "fedsec/he/v1/ciphertext"
FIELDS = ("kind", "job", "round", "site", "ciphertext")


@dataclass(frozen=True)
class Contribution:
    """One contributor's encrypted update as relayed by the coordinator, with its statement."""

    ciphertext: list[bytes]
    signed: dict[str, Any] | None

    def to_wire(self) -> dict[str, Any]:
        return {"ciphertext": self.ciphertext, "signed": self.signed}

    @classmethod
    def from_wire(cls, data: Any, site: str) -> Contribution:
        what = f"decryption refused: {site}'s encrypted update"
        if not isinstance(data, dict) or set(data) != {"ciphertext", "signed"}:
            raise PlanRefused(f"{what}: expected exactly 'ciphertext' and 'signed'")
        return cls(wire.ciphertexts_from_wire(data["ciphertext"], what), data["signed"])


def sign_ciphertext(
    keys: KitIdentity | None, job: str, round_: int, chunks: list[bytes]
) -> dict[str, Any] | None:
    """This site's statement of the ciphertext it sends this round (None without kit keys)."""
    return sign_round(keys, KIND, job, round_, "ciphertext", he.digest(chunks))


def check_signed(
    keys: KitIdentity, job: str, round_: int, site: str, contribution: Contribution
) -> None:
    """Refuse ``contribution`` unless ``site``'s kit signed its ciphertext for this round."""
    what = f"decryption refused: {site}'s encrypted update"
    if site == keys.coordinator:
        raise PlanRefused(f"{what}: the coordinator's identity contributes nothing")
    try:
        statement = open_signed(keys.root, site, contribution.signed, FIELDS)
    except Unsigned as error:
        raise PlanRefused(f"{what} is not signed by {site}: {error}") from None
    if statement["kind"] != KIND or statement["site"] != site:
        raise PlanRefused(f"{what}: its statement is not {site}'s ciphertext statement")
    if statement["job"] != job or statement["round"] != round_:
        raise PlanRefused(
            f"{what} was signed for job {statement['job']!r} round {statement['round']!r}, "
            f"not this job's round {round_} (a stale or replayed ciphertext)"
        )
    if statement["ciphertext"] != he.digest(contribution.ciphertext):
        raise PlanRefused(f"{what} is not the ciphertext {site} signed")


def checked_sum(
    context: Any,
    updates: dict[str, Contribution],
    own: tuple[str, str],
    claimed: str,
    check: Callable[[str, Contribution], None] | None,
) -> list[bytes]:
    """The sum of ``updates`` this site made itself, once each is checked (``check``: the
    signature, None without kit keys), ``own`` (this site's name and ciphertext digest) is the
    one it sent, no ciphertext appears twice, and the sum's digest is ``claimed``."""
    name, digest = own
    if he.digest(updates[name].ciphertext) != digest:
        raise PlanRefused(
            f"decryption refused: the ciphertext relayed as {name}'s is not the one it sent"
        )
    digests = [he.digest(u.ciphertext) for u in updates.values()]
    if len(set(digests)) != len(digests):
        raise PlanRefused("decryption refused: one ciphertext is relayed twice")
    for site, contribution in sorted(updates.items()):
        if check is not None:
            check(site, contribution)
    try:
        total = he.add(context, [updates[s].ciphertext for s in sorted(updates)], "sum")
    except he.HeError as error:
        raise PlanRefused(f"decryption refused: the contributors' {error}") from None
    if he.digest(total) != claimed:
        raise PlanRefused(
            "decryption refused: the coordinator's sum is not the sum of the contributors' "
            "signed ciphertexts"
        )
    return total

"""Signed contributor lists under homomorphic encryption: no two sums of a round differ.

A coordinator could ask site A to decrypt the sum over S and site B the sum over S without a
victim V, and subtract (the differencing attack). So before any site decrypts, the coordinator
sends each contributor the round's list (``fedsec_he_contributors``); each signs, with its
kit's key, the job, the round, its name and the sorted list (:func:`sign_list`), and signs one
list a round: asked for another, it refuses. A site then decrypts only the list it signed, and
only when every contributor on it signed that same list (:func:`check_lists`). Two lists
decrypted in one round that share a site are therefore the same list: each site on both would
have signed two.

A site without kit keys (a site object outside a deployment) signs and checks no statement;
it still decrypts only the list it agreed to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedsec.engines.nvflare import wire
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.signing import Unsigned, open_signed, sign_round

KIND = "fedsec/he/v1/contributors"
FIELDS = ("kind", "job", "round", "site", "contributors")


@dataclass(frozen=True)
class ListTask:
    """``fedsec_he_contributors``: the contributors a round's encrypted sum is to be over."""

    round: int
    contributors: list[str]

    @classmethod
    def from_wire(cls, data: Any) -> ListTask:
        what = "contributor list refused"
        if not isinstance(data, dict) or set(data) != {"round", "contributors"}:
            raise PlanRefused(f"{what}: expected exactly 'round' and 'contributors'")
        round_ = data["round"]
        if isinstance(round_, bool) or not isinstance(round_, int) or round_ < 0:
            raise PlanRefused(f"{what}: round {round_!r} is not a round number")
        return cls(round_, wire.names_from_wire(data["contributors"], "contributors"))


def list_request(round_: int, contributors: list[str]) -> dict[str, Any]:
    """What the coordinator sends as a :class:`ListTask`."""
    return {"round": round_, "contributors": contributors}


def sign_list(
    keys: KitIdentity | None, job: str, round_: int, contributors: list[str]
) -> dict[str, Any] | None:
    """This site's statement of the round's contributor list (None without kit keys)."""
    return sign_round(keys, KIND, job, round_, "contributors", sorted(contributors))


def check_lists(
    keys: KitIdentity, job: str, round_: int, contributors: list[str], signed: dict[str, Any]
) -> None:
    """Refuse unless every one of ``contributors`` signed exactly this list for this round."""
    for site in sorted(contributors):
        what = f"decryption refused: {site} did not sign this contributor list"
        try:
            statement = open_signed(keys.root, site, signed.get(site), FIELDS)
        except Unsigned as error:
            raise PlanRefused(f"{what} ({error})") from None
        expected = [KIND, job, round_, site, sorted(contributors)]
        if [statement[f] for f in FIELDS] != expected:
            raise PlanRefused(
                f"{what}: it signed {statement['contributors']!r} for job {statement['job']!r} "
                f"round {statement['round']!r} (two sums of a round over different sites "
                "would expose their difference)"
            )

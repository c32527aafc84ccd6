"""A coordinator under an attacker's control, for tests: it drives the secure-aggregation tasks
of real :class:`~fedsec.engines.nvflare.site.Site` objects itself, sends each site whatever suits
the attack, keeps every answer and then tries to unmask one site's update from them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.fl.privacy.secagg import checks, crypto, shamir
from fedsec.fl.privacy.secagg.encoding import decode
from fedsec.fl.privacy.secagg.messages import mask_purpose, roster_order

Names = list[str]


class Attacker:
    """``victim``'s update is the prize; ``sites`` maps names to real sites."""

    def __init__(self, sites: dict[str, Any], victim: str, round_: int) -> None:
        self.sites, self.victim, self.round = sites, victim, round_
        self.refusals: dict[tuple[str, str], str] = {}
        self.replies: dict[str, dict[str, dict]] = {}
        self.rosters: dict[str, Names] = {}
        self.participants: dict[str, Names] = {}
        self.truth: np.ndarray | None = None
        self.colluded: list[dict] = []  # shares colluding sites handed over
        self.known_keys: dict[str, bytes] = {}  # their private mask keys

    def send(self, task: str, messages: dict[str, dict]) -> dict[str, dict]:
        answered = {}
        for site, data in messages.items():
            try:
                answered[site] = self.sites[site].handle(task, data)
            except PlanRefused as error:
                self.refusals[(task, site)] = str(error)
        self.replies[task] = answered
        return answered

    def run(
        self,
        train: dict[str, Any],
        targets: Names,
        plan: Callable[[str, dict], dict] = lambda site, plan: plan,
        roster: Callable[[str, Names], Names] = lambda site, names: names,
        participants: Callable[[str, Names], Names] = lambda site, names: names,
        survivors: Callable[[str, Names], tuple[Names, Names]] = lambda site, names: (names, []),
        confirmations: Callable[[str, dict], dict] = lambda site, signed: signed,
    ) -> np.ndarray | None:
        """Every phase, each site's message chosen by the callables; the victim's update if the
        attacker could unmask it, else None."""
        trained = self.send(
            "fedsec_train",
            {s: train | {"plan": plan(s, dict(train["plan"]))} for s in targets},
        )
        pending = self.sites[self.victim].secure.pending.get(self.round)
        self.truth = None if pending is None else pending.vector.copy()
        entries = {
            s: {"advertisement": r["advertisement"], "endorsement": r["endorsement"]}
            for s, r in trained.items()
        }
        for site in trained:
            self.rosters[site] = roster(site, sorted(entries))
        shared = self.send(
            "fedsec_secagg_share",
            {
                s: {"round": self.round, "roster": [entries[n] for n in self.rosters[s]]}
                for s in trained
            },
        )
        sealed = [item for reply in shared.values() for item in reply["shares"]]
        for site in shared:
            self.participants[site] = participants(site, sorted(shared))
        masked = self.send(
            "fedsec_secagg_mask",
            {
                s: {
                    "round": self.round,
                    "participants": self.participants[s],
                    "inbox": {s: [i for i in sealed if i["recipient"] == s]},
                }
                for s in shared
            },
        )
        views = {s: survivors(s, sorted(masked)) for s in masked}
        confirmed = self.send(
            "fedsec_secagg_confirm",
            {
                s: {"round": self.round, "survivors": v[0], "dropped": v[1]}
                for s, v in views.items()
            },
        )
        signed = {s: r.get("confirmation") for s, r in confirmed.items()}
        self.send(
            "fedsec_secagg_reveal",
            {
                s: {
                    "round": self.round,
                    "survivors": v[0],
                    "dropped": v[1],
                    "confirmations": confirmations(s, dict(signed)),
                }
                for s, v in views.items()
            },
        )
        return self.unmask()

    def collude(self, site: str) -> Any:
        """``site`` colludes: every share it holds and its mask key are the attacker's; its
        secure-aggregation client (to sign whatever the attacker wants) is returned."""
        client = self.sites[site].secure.pending[self.round].client
        index = roster_order(client.roster)[site]
        for owner, (key, seed) in client.held.items():
            for kind, share in (("mask_key", key), ("seed", seed)):
                self.colluded.append(
                    {"revealer": site, "owner": owner, "kind": kind, "index": index, "share": share}
                )
        self.known_keys[site] = client.mask_keys.private_bytes()
        return client

    def reveals(self) -> list[dict]:
        replies = self.replies.get("fedsec_secagg_reveal", {}).values()
        return [r for reply in replies for r in reply["reveals"]] + self.colluded

    def secret(self, owner: str, kind: str) -> bytes | None:
        shares = {
            r["index"]: r["share"]
            for r in self.reveals()
            if r["owner"] == owner and r["kind"] == kind
        }
        if not shares:
            return None
        try:
            return shamir.combine(shares, len(shares))
        except ValueError:
            return None

    def unmask(self) -> np.ndarray | None:
        """What the attacker learns of the victim's update: only with its self-mask seed and
        every pairwise mask it added."""
        victim = self.victim
        masked = self.replies.get("fedsec_secagg_mask", {}).get(victim, {}).get("masked")
        adverts = {
            r["advertisement"]["sender"]: r["advertisement"]
            for r in self.replies["fedsec_train"].values()
        }
        seed = self.secret(victim, "seed")
        if masked is None or seed is None:
            return None
        if hashlib.sha256(seed).digest() != adverts[victim]["seed_commitment"]:
            return None
        total = masked.astype(np.uint32) - crypto.keystream(seed, len(masked))
        order = roster_order(self.rosters[victim])
        own_key = self.secret(victim, "mask_key")
        for peer in self.participants[victim]:
            if peer == victim:
                continue
            if own_key is not None:
                private, public = own_key, adverts[peer]["mask_public"]
            else:
                private = self.known_keys.get(peer) or self.secret(peer, "mask_key")
                public = adverts[victim]["mask_public"]
            if private is None:
                return None
            key = crypto.KeyPair.from_private_bytes(private).private
            stream = crypto.keystream(
                crypto.agree(key, public, mask_purpose(self.round)), len(total)
            )
            total = total - stream if order[victim] < order[peer] else total + stream
        return decode(
            total.astype(np.uint32)[: -checks.CHECK_COORDINATES]
        )  # its check values follow

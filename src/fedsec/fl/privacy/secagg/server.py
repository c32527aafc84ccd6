"""The coordinator's role in one secure aggregation: route, collect, relay, remove masks.

The coordinator learns the sum of the surviving organizations' inputs and nothing else: every
masked input is uniformly distributed on its own, shares travel sealed between organizations,
and for each party it reconstructs either the self-mask seed (survivor) or the pairwise key
(dropout), never both. Privacy does not rest on the coordinator following these steps: the
organizations check every request (see :mod:`fedsec.fl.privacy.secagg.client`). An honest
coordinator checks the confirmations before relaying them, so a round one survivor does not
confirm ends before anyone reveals a share.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from fedsec.fl.privacy.secagg import crypto, shamir
from fedsec.fl.privacy.secagg.messages import (
    Advertisement,
    Confirmation,
    Reveal,
    SealedShare,
    SecAggAborted,
    SecAggError,
    confirmation_message,
    mask_purpose,
    roster_digest,
    roster_order,
)
from fedsec.fl.privacy.secagg.policy import FLOOR, threshold_floor


class SecAggServer:
    def __init__(self, round_: int) -> None:
        self.round = round_
        self.roster: dict[str, Advertisement] = {}
        self.thresholds: dict[str, int] = {}  # sharer -> the threshold it split its secrets with
        self.inputs: dict[str, np.ndarray] = {}
        self.confirmations: dict[str, Confirmation] = {}

    @property
    def sharers(self) -> set[str]:
        return set(self.thresholds)

    def collect_advertisements(self, adverts: list[Advertisement]) -> dict[str, Advertisement]:
        self.roster = {a.sender: a for a in adverts}
        if len(self.roster) < FLOOR:
            raise SecAggAborted(
                f"only {len(self.roster)} organization(s) advertised keys; a secure sum needs "
                f"at least {FLOOR}"
            )
        return dict(self.roster)

    def route(
        self, sealed: dict[str, list[SealedShare]], thresholds: Mapping[str, int]
    ) -> dict[str, list[SealedShare]]:
        """Deliver sealed shares (sender -> its shares) to their recipients; the coordinator
        cannot open them. Every sender becomes a party whose masks must be accounted for; a
        party of the roster that did not share (it left or refused) gets nothing."""
        floor, n = threshold_floor(self.roster), len(self.roster)
        for sender in sealed:
            if sender not in self.roster or not floor <= thresholds.get(sender, 0) <= n:
                raise SecAggError(f"{sender} shared with a threshold outside [{floor}, {n}]")
        self.thresholds = {s: int(thresholds[s]) for s in sealed}
        inbox: dict[str, list[SealedShare]] = defaultdict(list)
        for sender, items in sealed.items():
            for item in items:
                if item.sender != sender or item.recipient not in self.roster:
                    raise SecAggError(
                        f"share from {item.sender} to {item.recipient} cannot be routed"
                    )
                if item.recipient in sealed:  # not for a party that left before sharing
                    inbox[item.recipient].append(item)
        return inbox

    def collect_input(self, sender: str, masked: np.ndarray) -> None:
        if sender not in self.sharers:
            raise SecAggError(f"{sender} sent a masked input without having shared its keys")
        self.inputs[sender] = masked.astype(np.uint32)

    def survivors(self) -> tuple[list[str], list[str]]:
        """(survivors, dropouts); aborts when too few survive to recover every party's secret."""
        alive = sorted(self.inputs)
        needed = max([FLOOR, *self.thresholds.values()])
        if len(alive) < needed:
            raise SecAggAborted(
                f"only {len(alive)} of {len(self.sharers)} organizations sent masked updates; "
                f"{needed} are needed to remove the masks (too many dropouts)"
            )
        return alive, sorted(self.sharers - set(alive))

    def collect_confirmations(self, confirmations: Mapping[str, Confirmation]) -> None:
        """Check that every survivor signed this round as the coordinator ran it; abort before
        any reveal otherwise (the organizations check the same, whatever the coordinator does)."""
        alive, _ = self.survivors()
        missing = sorted(set(alive) - set(confirmations))
        if missing:
            raise SecAggAborted(f"no confirmation from {missing}: nothing was revealed")
        digest = roster_digest(self.roster)
        for signer in alive:
            item = confirmations[signer]
            message = confirmation_message(
                self.round, digest, self.sharers, alive, signer, item.threshold
            )
            valid = crypto.verify(self.roster[signer].sign_public, item.signature, message)
            if item.signer != signer or item.threshold != self.thresholds[signer] or not valid:
                raise SecAggAborted(
                    f"the confirmation of {signer} does not match the round: nothing was revealed"
                )
        self.confirmations = {s: confirmations[s] for s in alive}

    def unmask(self, reveals: list[Reveal]) -> np.ndarray:
        """The sum of the survivors' inputs, with every mask removed."""
        alive, dropped = self.survivors()
        shares: dict[tuple[str, str], dict[int, bytes]] = defaultdict(dict)
        for reveal in reveals:
            if reveal.revealer in alive:
                shares[(reveal.owner, reveal.kind)][reveal.index] = reveal.share
        total = np.sum(list(self.inputs.values()), axis=0, dtype=np.uint64).astype(np.uint32)
        length = len(total)
        for owner in alive:
            seed = self._recover(shares[(owner, "seed")], owner, "self-mask seed")
            if hashlib.sha256(seed).digest() != self.roster[owner].seed_commitment:
                raise SecAggError(
                    f"reconstructed self-mask seed of {owner} does not match its "
                    "commitment (a survivor revealed a false share)"
                )
            total = total - crypto.keystream(seed, length)
        order = roster_order(self.roster)
        for owner in dropped:
            secret = self._recover(shares[(owner, "mask_key")], owner, "pairwise key")
            keys = crypto.KeyPair.from_private_bytes(secret)
            if keys.public != self.roster[owner].mask_public:
                raise SecAggError(
                    f"reconstructed pairwise key of {owner} does not match its "
                    "public key (a survivor revealed a false share)"
                )
            for peer in alive:
                seed = crypto.agree(
                    keys.private, self.roster[peer].mask_public, mask_purpose(self.round)
                )
                stream = crypto.keystream(seed, length)
                # the peer added +stream if it sorts before the dropout, -stream otherwise
                total = total - stream if order[peer] < order[owner] else total + stream
        return total.astype(np.uint32)

    def _recover(self, shares: dict[int, bytes], owner: str, what: str) -> bytes:
        threshold = self.thresholds[owner]
        if len(shares) < threshold:
            raise SecAggAborted(f"{len(shares)} shares of {owner}'s {what}; {threshold} are needed")
        try:
            return shamir.combine(shares, threshold)
        except ValueError as error:
            raise SecAggError(
                f"shares of {owner}'s {what} are inconsistent (a survivor revealed a false share)"
            ) from error

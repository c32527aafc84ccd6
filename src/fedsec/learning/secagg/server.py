"""The coordinator's role in one secure aggregation: route, collect, and remove masks.

The coordinator learns the sum of the surviving organizations' inputs and nothing else: every
masked input is uniformly distributed on its own, shares travel sealed between organizations,
and for each party it reconstructs either the self-mask seed (survivor) or the pairwise key
(dropout), never both.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

from fedsec.learning.secagg import crypto, shamir
from fedsec.learning.secagg.messages import (
    Advertisement,
    Reveal,
    SealedShare,
    SecAggError,
    mask_purpose,
    roster_order,
)


class SecAggServer:
    def __init__(self, round_: int, threshold: int) -> None:
        self.round = round_
        self.threshold = threshold
        self.roster: dict[str, Advertisement] = {}
        self.sharers: set[str] = set()
        self.inputs: dict[str, np.ndarray] = {}

    def collect_advertisements(self, adverts: list[Advertisement]) -> dict[str, Advertisement]:
        self.roster = {a.sender: a for a in adverts}
        if len(self.roster) < self.threshold:
            raise SecAggError(
                f"only {len(self.roster)} organizations advertised keys; "
                f"{self.threshold} are needed"
            )
        return dict(self.roster)

    def route(self, sealed: dict[str, list[SealedShare]]) -> dict[str, list[SealedShare]]:
        """Deliver sealed shares (sender -> its shares) to their recipients; the coordinator
        cannot open them. Every sender becomes a party whose masks must be accounted for."""
        self.sharers = set(sealed)
        inbox: dict[str, list[SealedShare]] = defaultdict(list)
        for sender, items in sealed.items():
            for item in items:
                if item.sender != sender or item.recipient not in sealed:
                    raise SecAggError(
                        f"share from {item.sender} to {item.recipient} cannot be routed"
                    )
                inbox[item.recipient].append(item)
        return inbox

    def collect_input(self, sender: str, masked: np.ndarray) -> None:
        if sender not in self.sharers:
            raise SecAggError(f"{sender} sent a masked input without having shared its keys")
        self.inputs[sender] = masked.astype(np.uint32)

    def survivors(self) -> tuple[list[str], list[str]]:
        alive = sorted(self.inputs)
        if len(alive) < self.threshold:
            raise SecAggError(
                f"only {len(alive)} of {len(self.sharers)} organizations sent masked updates; "
                f"{self.threshold} are needed to remove the masks (too many dropouts)"
            )
        return alive, sorted(self.sharers - set(alive))

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
        order = roster_order(list(self.roster))
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
        if len(shares) < self.threshold:
            raise SecAggError(
                f"{len(shares)} shares of {owner}'s {what}; {self.threshold} are needed"
            )
        try:
            return shamir.combine(shares, self.threshold)
        except ValueError as error:
            raise SecAggError(
                f"shares of {owner}'s {what} are inconsistent (a survivor revealed a false share)"
            ) from error

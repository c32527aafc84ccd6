"""The organization's role in one secure aggregation (Bonawitz et al., CCS 2017).

An organization masks its encoded update with a self-mask (from a fresh seed) and with pairwise
masks that cancel across organizations; it secret-shares its seed and its pairwise key so that
survivors can remove the masks of organizations that drop out. The coordinator only ever sees
masked vectors and, after the fact, the sum.
"""

from __future__ import annotations

import hashlib

import numpy as np

from fedsec.learning.secagg import crypto, shamir
from fedsec.learning.secagg.messages import (
    Advertisement,
    Reveal,
    SealedShare,
    SecAggError,
    associated_data,
    mask_purpose,
    roster_order,
    share_purpose,
)


class SecAggClient:
    def __init__(self, name: str, round_: int, threshold: int) -> None:
        self.name = name
        self.round = round_
        self.threshold = threshold
        self.cipher_keys = crypto.KeyPair.generate()
        self.mask_keys = crypto.KeyPair.generate()
        self.seed = crypto.random_seed()
        self.roster: dict[str, Advertisement] = {}
        self.held: dict[str, tuple[bytes, bytes]] = {}  # owner -> (mask-key share, seed share)

    def advertise(self) -> Advertisement:
        return Advertisement(
            self.name,
            self.cipher_keys.public,
            self.mask_keys.public,
            hashlib.sha256(self.seed).digest(),
        )

    def share(self, roster: dict[str, Advertisement]) -> list[SealedShare]:
        """Split the pairwise key and the seed t-of-n; seal each peer's shares for that peer."""
        if len(roster) < self.threshold:
            raise SecAggError(
                f"{len(roster)} organizations advertised keys; the threshold is {self.threshold}"
            )
        self.roster = dict(roster)
        order = roster_order(list(roster))
        key_shares = shamir.split(self.mask_keys.private_bytes(), self.threshold, len(order))
        seed_shares = shamir.split(self.seed, self.threshold, len(order))
        sealed = []
        for peer, index in order.items():
            plaintext = key_shares[index] + seed_shares[index]
            if peer == self.name:
                self.held[self.name] = (key_shares[index], seed_shares[index])
                continue
            key = crypto.agree(
                self.cipher_keys.private, roster[peer].cipher_public, share_purpose(self.round)
            )
            sealed.append(
                SealedShare(
                    self.name,
                    peer,
                    crypto.seal(key, plaintext, associated_data(self.round, self.name, peer)),
                )
            )
        return sealed

    def receive(self, shares: list[SealedShare]) -> None:
        """Open the shares peers sealed for this organization; refuse any altered one."""
        for item in shares:
            if item.recipient != self.name or item.sender not in self.roster:
                raise SecAggError(f"{self.name} received a share not meant for it")
            key = crypto.agree(
                self.cipher_keys.private,
                self.roster[item.sender].cipher_public,
                share_purpose(self.round),
            )
            try:
                plain = crypto.open_sealed(
                    key, item.ciphertext, associated_data(self.round, item.sender, self.name)
                )
            except crypto.AuthenticationError as error:
                raise SecAggError(
                    f"share from {item.sender} to {self.name} failed "
                    "authentication (altered or forged)"
                ) from error
            half = len(plain) // 2
            self.held[item.sender] = (plain[:half], plain[half:])

    def masked_input(self, encoded: np.ndarray, participants: list[str]) -> np.ndarray:
        """``x + PRG(seed) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv)`` in Z_{2^32}."""
        order = roster_order(list(self.roster))
        masked = encoded.astype(np.uint32) + crypto.keystream(self.seed, len(encoded))
        for peer in participants:
            if peer == self.name:
                continue
            seed = crypto.agree(
                self.mask_keys.private, self.roster[peer].mask_public, mask_purpose(self.round)
            )
            stream = crypto.keystream(seed, len(encoded))
            masked = masked + stream if order[self.name] < order[peer] else masked - stream
        return masked.astype(np.uint32)

    def reveal(self, survivors: list[str], dropped: list[str]) -> list[Reveal]:
        """Seed shares of survivors, pairwise-key shares of dropouts; never both for one party."""
        if set(survivors) & set(dropped):
            raise SecAggError("a party cannot be both a survivor and a dropout")
        index = roster_order(list(self.roster))[self.name]
        reveals = [
            Reveal(self.name, owner, "seed", index, self.held[owner][1])
            for owner in survivors
            if owner in self.held
        ]
        reveals += [
            Reveal(self.name, owner, "mask_key", index, self.held[owner][0])
            for owner in dropped
            if owner in self.held
        ]
        return reveals

"""The organization's role in one secure aggregation (Bonawitz et al., CCS 2017, with the
consistency check that makes it hold against a malicious coordinator).

An organization masks its encoded update with a self-mask (from a fresh seed) and with pairwise
masks that cancel across organizations; it secret-shares its seed and its pairwise key so that
survivors can remove the masks of organizations that drop out. Before revealing any share it
signs the round as it saw it (roster, parties it masked with, survivors) and checks that every
survivor signed exactly the same; then, for each party, it reveals either the seed share (a
survivor) or the key share (a dropout), once. Each step checks the coordinator's request against
what this organization already did and against its own :class:`SecAggPolicy`; any mismatch is a
:class:`SecAggRefused`, after which it takes no further part in the round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping

import numpy as np

from fedsec.fl.privacy.secagg import checks, crypto, shamir
from fedsec.fl.privacy.secagg.messages import (
    Advertisement,
    Confirmation,
    Reveal,
    SealedShare,
    SecAggRefused,
    associated_data,
    confirmation_message,
    mask_purpose,
    roster_digest,
    roster_order,
    share_purpose,
)
from fedsec.fl.privacy.secagg.policy import SecAggPolicy, threshold_floor


class SecAggClient:
    def __init__(
        self, name: str, round_: int, policy: SecAggPolicy | None = None, task: bytes = b""
    ) -> None:
        self.name = name
        self.round = round_
        self.task = task  # the digest of the request this organization's vector answers
        self.policy = policy or SecAggPolicy()
        self.cipher_keys = crypto.KeyPair.generate()
        self.mask_keys = crypto.KeyPair.generate()
        self.signing = crypto.SigningKey.generate()
        self.seed = crypto.random_seed()
        self.check_seeds = {name: crypto.random_seed()}  # party -> check seed (checks.py)
        # advertised -> shared -> masked -> confirmed -> revealed: each request must come in
        # its phase, and once.
        self.phase = "advertised"
        self.refusal: str | None = None
        self.roster: dict[str, Advertisement] = {}
        self.threshold = 0
        self.digest = b""
        self.held: dict[str, tuple[bytes, bytes]] = {}  # owner -> (mask-key share, seed share)
        self.masked_with: list[str] = []
        self.survivors: list[str] = []

    # -- bookkeeping ----------------------------------------------------------------------------

    def refuse(self, reason: str) -> SecAggRefused:
        """Record the refusal (this organization takes no further part) and return it."""
        self.refusal = self.refusal or reason
        self.phase = "refused"
        return SecAggRefused(reason)

    def expect(self, phase: str, request: str) -> None:
        if self.phase == "refused":
            raise SecAggRefused(f"{request}: this organization already refused: {self.refusal}")
        if self.phase != phase:
            raise self.refuse(f"{request} out of order (this organization has {self.phase})")

    @property
    def least_contributors(self) -> int:
        return self.policy.least_contributors(self.threshold)

    # -- phases ---------------------------------------------------------------------------------

    def advertise(self) -> Advertisement:
        return Advertisement(
            self.name,
            self.cipher_keys.public,
            self.mask_keys.public,
            hashlib.sha256(self.seed).digest(),
            self.signing.public,
            self.policy.colluders,
            self.task,
        )

    def share(self, roster: Mapping[str, Advertisement]) -> list[SealedShare]:
        """Split the pairwise key and the seed t-of-n; seal each peer's shares for that peer."""
        self.expect("advertised", "roster")
        if roster.get(self.name) != self.advertise():
            raise self.refuse("roster: this organization's keys are missing or were altered")
        others = sorted(name for name, advert in roster.items() if advert.task != self.task)
        if others:
            raise self.refuse(
                f"roster: {', '.join(others)} answered another request than this organization "
                "for this sum (the digests of the requests differ); a coordinator that sends "
                "parties different requests could make their vectors vanish and read one alone"
            )
        n = len(roster)
        if n < 2:
            raise self.refuse(f"roster of {n} organization: a sum of one is that one's update")
        threshold = self.policy.threshold(roster)
        least = self.policy.least_contributors(threshold)
        if least > n:
            raise self.refuse(
                f"roster of {n} organizations; this organization requires at least {least} "
                f"contributors (its threshold {threshold}, its min_contributors "
                f"{self.policy.min_contributors})"
            )
        self.roster, self.threshold = dict(roster), threshold
        self.digest = roster_digest(roster)
        order = roster_order(roster)
        key_shares = shamir.split(self.mask_keys.private_bytes(), threshold, n)
        seed_shares = shamir.split(self.seed, threshold, n)
        sealed = []
        for peer, index in order.items():
            if peer == self.name:
                self.held[self.name] = (key_shares[index], seed_shares[index])
                continue
            key = crypto.agree(
                self.cipher_keys.private, roster[peer].cipher_public, share_purpose(self.round)
            )
            associated = associated_data(self.round, self.name, peer)
            plaintext = key_shares[index] + seed_shares[index] + self.check_seeds[self.name]
            sealed.append(SealedShare(self.name, peer, crypto.seal(key, plaintext, associated)))
        self.phase = "shared"
        return sealed

    def receive(self, shares: list[SealedShare]) -> None:
        """Open the shares peers sealed for this organization; refuse any altered one."""
        self.expect("shared", "shares")
        for item in shares:
            if item.recipient != self.name or item.sender not in self.roster:
                raise self.refuse(f"{self.name} received a share not meant for it")
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
                raise self.refuse(
                    f"share from {item.sender} to {self.name} failed "
                    "authentication (altered or forged)"
                ) from error
            half = (len(plain) - crypto.KEY_BYTES) // 2
            self.held[item.sender] = (plain[:half], plain[half : 2 * half])
            self.check_seeds[item.sender] = plain[2 * half :]

    def masked_input(self, encoded: np.ndarray, participants: Collection[str]) -> np.ndarray:
        """``x + PRG(seed) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv)`` in Z_{2^32}, over
        ``participants`` (U2): organizations of the roster whose shares this one holds."""
        self.expect("shared", "participants")
        masked_with = set(participants)
        if self.name not in masked_with or not masked_with <= set(self.roster):
            raise self.refuse("participants: not a subset of the roster holding this organization")
        missing = sorted(masked_with - set(self.held))
        if missing:
            raise self.refuse(f"participants: this organization holds no shares from {missing}")
        if len(masked_with) < self.least_contributors:
            raise self.refuse(
                f"participants: {len(masked_with)} organization(s); this organization masks "
                f"only in a sum of at least {self.least_contributors}"
            )
        self.masked_with = sorted(masked_with)
        key = checks.check_key(self.round, self.check_seeds, self.masked_with)
        encoded = np.concatenate(
            [encoded.astype(np.uint32), checks.check_values(key, self.name, encoded)]
        )
        order = roster_order(self.roster)
        masked = encoded + crypto.keystream(self.seed, len(encoded))
        for peer in self.masked_with:
            if peer == self.name:
                continue
            seed = crypto.agree(
                self.mask_keys.private, self.roster[peer].mask_public, mask_purpose(self.round)
            )
            stream = crypto.keystream(seed, len(encoded))
            masked = masked + stream if order[self.name] < order[peer] else masked - stream
        self.phase = "masked"
        return masked.astype(np.uint32)

    def confirm(self, survivors: Collection[str], dropped: Collection[str]) -> Confirmation:
        """Sign the round as this organization saw it, once: the consistency check."""
        self.expect("masked", "survivors")
        alive, gone = set(survivors), set(dropped)
        if self.name not in alive:
            raise self.refuse("survivors: this organization is not among them")
        if not alive <= set(self.masked_with) or gone != set(self.masked_with) - alive:
            raise self.refuse(
                "survivors and dropouts do not partition the organizations this one masked with"
            )
        if len(alive) < self.least_contributors:
            raise self.refuse(
                f"survivors: {len(alive)}; this organization lets a sum be unmasked only with "
                f"at least {self.least_contributors} contributors"
            )
        self.survivors = sorted(alive)
        self.phase = "confirmed"
        signature = self.signing.sign(self.statement(self.name, self.threshold))
        return Confirmation(self.name, self.threshold, signature)

    def statement(self, signer: str, threshold: int) -> bytes:
        """What ``signer`` must have signed if it saw the round as this organization did."""
        return confirmation_message(
            self.round,
            self.digest,
            self.masked_with,
            self.survivors,
            signer,
            threshold,
        )

    def reveal(
        self,
        survivors: Collection[str],
        dropped: Collection[str],
        confirmations: Mapping[str, Confirmation],
    ) -> list[Reveal]:
        """Seed shares of survivors, pairwise-key shares of dropouts; never both for one party,
        once, and only when every survivor confirmed the very round this organization signed."""
        self.expect("confirmed", "reveal")
        if sorted(survivors) != self.survivors or sorted(dropped) != self.dropped:
            raise self.refuse(
                "reveal: survivors or dropouts differ from those this organization confirmed"
            )
        self.check(confirmations)
        index = roster_order(self.roster)[self.name]
        reveals = [Reveal(self.name, o, "seed", index, self.held[o][1]) for o in self.survivors]
        reveals += [Reveal(self.name, o, "mask_key", index, self.held[o][0]) for o in self.dropped]
        self.phase = "revealed"
        return reveals

    def verify(self, total: np.ndarray) -> np.ndarray:
        """The unmasked sum the coordinator announces, checked against the check values every
        survivor added (:mod:`.checks`); its encoded vector without them. A sum the survivors
        did not mask (altered, scaled, replaced, or over other parties) is refused."""
        self.expect("revealed", "sum")
        total = np.asarray(total, dtype=np.uint32)
        if total.ndim != 1 or len(total) <= checks.CHECK_COORDINATES:
            raise self.refuse(f"sum: {total.shape} is not a masked vector with its check values")
        key = checks.check_key(self.round, self.check_seeds, self.masked_with)
        failed = checks.forged_checks(key, self.survivors, total)
        if failed:
            raise self.refuse(
                f"sum: {len(failed)} of {checks.CHECKS} check values do not match: the "
                "coordinator announced a sum the survivors did not mask (altered or replaced)"
            )
        self.phase = "verified"
        return total[: -checks.CHECK_COORDINATES]

    @property
    def dropped(self) -> list[str]:
        return sorted(set(self.masked_with) - set(self.survivors))

    def check(self, confirmations: Mapping[str, Confirmation]) -> None:
        """Every survivor, and only they, signed this organization's view of the round with a
        threshold no lower than the roster's floor."""
        missing = sorted(set(self.survivors) - set(confirmations))
        extra = sorted(set(confirmations) - set(self.survivors))
        if missing or extra:
            problems = [f"missing from {missing}"] * bool(missing)
            problems += [f"unexpected from {extra}"] * bool(extra)
            raise self.refuse(f"confirmations: {', '.join(problems)}")
        floor = threshold_floor(self.roster)
        for signer in self.survivors:
            item = confirmations[signer]
            if item.signer != signer or not floor <= item.threshold <= len(self.roster):
                raise self.refuse(
                    f"confirmation of {signer}: threshold {item.threshold} outside "
                    f"[{floor}, {len(self.roster)}]"
                )
            public = self.roster[signer].sign_public
            if not crypto.verify(public, item.signature, self.statement(signer, item.threshold)):
                raise self.refuse(
                    f"confirmation of {signer} does not match the round this organization "
                    "confirmed (another roster, parties or survivors, or a forged signature)"
                )

"""What organizations and the coordinator exchange during one secure aggregation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from fedsec.core.errors import FedsecError


class SecAggError(FedsecError, RuntimeError):
    """The secure sum cannot be completed (too many dropouts, a forged or altered share)."""


class SecAggRefused(SecAggError):
    """An organization refuses a request: it is inconsistent with what it shared, masked with
    or confirmed, or below what its own policy requires. Nothing more leaves it this round."""


class SecAggAborted(SecAggError):
    """The round's sum cannot be unmasked (too few survivors, confirmations or shares): the
    round aggregates nothing, and the organizations revealed nothing that unmasks an update."""


@dataclass(frozen=True)
class Advertisement:
    """Round 0: an organization's public keys, a commitment to its self-mask seed, how many
    colluding organizations it wants the round's threshold to withstand, and the digest of the
    request its vector answers (``task``): every party of a sum must have been sent the same
    request, or a coordinator could make the others' vectors vanish (a huge weight unit, a zero
    model, made-up columns) and read the one left as the sum."""

    sender: str
    cipher_public: bytes  # X25519, for the keys that encrypt shares
    mask_public: bytes  # X25519, for the pairwise mask seeds
    seed_commitment: bytes  # SHA-256 of the self-mask seed
    sign_public: bytes  # Ed25519, for this round's confirmation
    colluders: int = 0
    task: bytes = b""  # SHA-256 of the request the vector was computed for


@dataclass(frozen=True)
class SealedShare:
    """Round 1: shares of the sender's secrets for one recipient, AES-GCM sealed end to end."""

    sender: str
    recipient: str
    ciphertext: bytes


@dataclass(frozen=True)
class Confirmation:
    """Round 3 (consistency check): a survivor's signature over the round as it saw it — the
    roster it shared with, the parties it masked with, the survivors — and its threshold."""

    signer: str
    threshold: int
    signature: bytes


@dataclass(frozen=True)
class Reveal:
    """Round 4: a survivor's share of one party's secret. ``kind`` is ``seed`` (self-mask of a
    survivor) or ``mask_key`` (pairwise key of a dropout); never both for the same party."""

    revealer: str
    owner: str
    kind: str
    index: int
    share: bytes


def roster_order(names: Collection[str]) -> dict[str, int]:
    """Participant -> Shamir index (1..n), by sorted name; also the order that signs masks."""
    return {name: i + 1 for i, name in enumerate(sorted(names))}


def roster_digest(roster: Mapping[str, Advertisement]) -> bytes:
    """SHA-256 of every advertisement of the roster: the same digest means the same keys."""
    keys = ("cipher_public", "mask_public", "seed_commitment", "sign_public")
    entries = [
        [a.sender, a.colluders, *(getattr(a, k).hex() for k in keys), a.task.hex()]
        for a in sorted(roster.values(), key=lambda a: a.sender)
    ]
    return hashlib.sha256(json.dumps(entries).encode()).digest()


def confirmation_message(
    round_: int,
    digest: bytes,
    masked: Collection[str],
    survivors: Collection[str],
    signer: str,
    threshold: int,
) -> bytes:
    """The bytes a survivor signs in the consistency check (canonical JSON)."""
    statement = {
        "protocol": "fedsec/secagg/v1/confirmation",
        "round": round_,
        "roster": digest.hex(),
        "masked": sorted(masked),
        "survivors": sorted(survivors),
        "signer": signer,
        "threshold": threshold,
    }
    return json.dumps(statement, sort_keys=True).encode()


def share_purpose(round_: int) -> str:
    return f"fedsec/secagg/v1/share-key/round-{round_}"


def mask_purpose(round_: int) -> str:
    return f"fedsec/secagg/v1/pairwise-mask/round-{round_}"


def associated_data(round_: int, sender: str, recipient: str) -> bytes:
    return f"fedsec/secagg/v1|{round_}|{sender}|{recipient}".encode()

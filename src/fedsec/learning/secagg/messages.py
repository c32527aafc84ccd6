"""What organizations and the coordinator exchange during one secure aggregation."""

from __future__ import annotations

from dataclasses import dataclass

from fedsec.errors import FedsecError


class SecAggError(FedsecError, RuntimeError):
    """The secure sum cannot be completed (too many dropouts, a forged or altered share)."""


@dataclass(frozen=True)
class Advertisement:
    """Round 0: an organization's public keys and a commitment to its self-mask seed."""

    sender: str
    cipher_public: bytes  # X25519, for the keys that encrypt shares
    mask_public: bytes  # X25519, for the pairwise mask seeds
    seed_commitment: bytes  # SHA-256 of the self-mask seed


@dataclass(frozen=True)
class SealedShare:
    """Round 1: shares of the sender's secrets for one recipient, AES-GCM sealed end to end."""

    sender: str
    recipient: str
    ciphertext: bytes


@dataclass(frozen=True)
class Reveal:
    """Round 3: a survivor's share of one party's secret. ``kind`` is ``seed`` (self-mask of a
    survivor) or ``mask_key`` (pairwise key of a dropout); never both for the same party."""

    revealer: str
    owner: str
    kind: str
    index: int
    share: bytes


def roster_order(names: list[str]) -> dict[str, int]:
    """Participant -> Shamir index (1..n), by sorted name; also the order that signs masks."""
    return {name: i + 1 for i, name in enumerate(sorted(names))}


def share_purpose(round_: int) -> str:
    return f"fedsec/secagg/v1/share-key/round-{round_}"


def mask_purpose(round_: int) -> str:
    return f"fedsec/secagg/v1/pairwise-mask/round-{round_}"


def associated_data(round_: int, sender: str, recipient: str) -> bytes:
    return f"fedsec/secagg/v1|{round_}|{sender}|{recipient}".encode()

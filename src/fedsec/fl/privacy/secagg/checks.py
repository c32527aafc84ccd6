"""Check values that let every organization verify the sum the coordinator unmasks.

Each organization draws a fresh check seed and seals it, with its Shamir shares, for every
other party: the coordinator relays it but cannot read it. From the seeds of all parties a sum
was masked over, every organization derives the same secret ``check key``, and from it
``CHECKS`` random rows ``R_k`` over the vector's coordinates and, per party ``p``, offsets
``t_p,k``. Party ``p``, whose encoded vector holds the signed integers ``x_p``, computes
``c_p,k = <R_k, x_p> + t_p,k`` modulo the prime ``PRIME`` (just above 2^32) and appends each
``c_p,k`` as ``LIMBS`` limbs of ``LIMB_BITS`` bits, which add up without wrapping when the
parties' vectors are summed. The unmasked sum ``X`` therefore ends in limbs whose value is
``<R_k, X> + sum_{survivors} t_p,k`` modulo ``PRIME``, which any survivor recomputes.

A coordinator that announces another sum, ``X + D`` with ``D != 0`` (a coordinate of ``D`` that
is not 0 lies in (-2^32, 2^32), so is not 0 modulo ``PRIME`` either), must hit ``<R_k, D>`` modulo
``PRIME`` without knowing ``R_k`` (entries of 24 bits, each giving a distinct product with a
coordinate of ``D`` that is not 0): each check passes with probability at most 2^-24, the three
at most 2^-72. The offsets, unknown to it, keep it from scaling a sum together with its checks or
passing off a sum over other parties. A coordinator that colludes with one organization knows
the key: this holds against the coordinator alone (docs/privacy.md, "Verify").
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Mapping

import numpy as np

from fedsec.fl.privacy.secagg import crypto

#: Independent checks; the prime they are computed modulo (the smallest above 2^32); the
#: bits of a check row's entries, and how many products are summed before a reduction.
CHECKS = 3
PRIME = (1 << 32) + 15
ROW_BITS = 24
BLOCK = 128
#: Each check value travels as limbs of 11 bits (a sum of up to 2^21 parties cannot wrap).
LIMB_BITS = 11
LIMBS = 3
#: The coordinates appended to every masked vector.
CHECK_COORDINATES = CHECKS * LIMBS


def check_key(round_: int, seeds: Mapping[str, bytes], parties: Collection[str]) -> bytes:
    """The secret every party of the sum derives alike: the check seeds of ``parties``."""
    entries = [[name, seeds[name].hex()] for name in sorted(parties)]
    statement = json.dumps(
        {"protocol": "fedsec/secagg/v1/check", "round": round_, "seeds": entries}
    )
    return hashlib.sha256(statement.encode()).digest()


def _derived(key: bytes, purpose: str) -> bytes:
    return hashlib.sha256(key + b"|" + purpose.encode()).digest()


def _projections(key: bytes, encoded: np.ndarray) -> np.ndarray:
    """``<R_k, x>`` modulo ``PRIME`` for every check row ``R_k`` (entries of ``ROW_BITS`` bits),
    ``x`` the signed integers of ``encoded``: each product is below 2^55 in magnitude, so
    blocks of ``BLOCK`` of them are summed exactly in int64 before they are reduced."""
    signed = np.asarray(encoded, dtype=np.uint32).view(np.int32)
    padded = np.zeros(-(-len(signed) // BLOCK) * BLOCK, dtype=np.int64)
    padded[: len(signed)] = signed
    blocks = (_rows(key, len(padded)) * padded.reshape(1, -1, BLOCK)).sum(axis=2) % PRIME
    return blocks.sum(axis=1) % PRIME


@functools.lru_cache(maxsize=1)
def _rows(key: bytes, length: int) -> np.ndarray:
    """The check rows of ``key`` over ``length`` coordinates, in blocks (kept for the round:
    a party computes its check values and verifies the sum with the same rows)."""
    stream = crypto.keystream(_derived(key, "rows"), CHECKS * length)
    rows = (stream >> (32 - ROW_BITS)).astype(np.int64).reshape(CHECKS, -1, BLOCK)
    return rows


def offsets(key: bytes, party: str) -> np.ndarray:
    """``t_party,k``: the secret part of ``party``'s check values, modulo ``PRIME``."""
    words = crypto.keystream(_derived(key, f"offset-{party}"), 2 * CHECKS).astype(np.int64)
    return ((words[0::2] << 30) + words[1::2]) % PRIME


def _limbs(values: np.ndarray) -> np.ndarray:
    """Each value below ``PRIME`` as ``LIMBS`` limbs, lowest first (uint32 coordinates)."""
    mask = (1 << LIMB_BITS) - 1
    limbs = [(values >> (LIMB_BITS * i)) & mask for i in range(LIMBS)]
    return np.stack(limbs, axis=1).reshape(-1).astype(np.uint32)


def _from_limbs(coordinates: np.ndarray) -> np.ndarray:
    """The check values that summed limbs stand for, modulo ``PRIME``."""
    limbs = np.asarray(coordinates, dtype=np.uint32).astype(np.int64).reshape(CHECKS, LIMBS)
    weights = np.array([1 << (LIMB_BITS * i) for i in range(LIMBS)], dtype=np.int64)
    return (limbs * weights).sum(axis=1) % PRIME  # each limb sum < 2^32: no int64 overflow


def check_values(key: bytes, party: str, encoded: np.ndarray) -> np.ndarray:
    """What ``party`` appends to its encoded vector ``encoded``."""
    return _limbs((_projections(key, encoded) + offsets(key, party)) % PRIME)


def forged_checks(key: bytes, survivors: Collection[str], total: np.ndarray) -> list[int]:
    """The checks an unmasked ``total`` (vector then check coordinates) fails, given the
    parties whose vectors it should sum; ``[]``: it is the sum they masked."""
    expected = _projections(key, total[:-CHECK_COORDINATES])
    for party in survivors:
        expected = (expected + offsets(key, party)) % PRIME
    announced = _from_limbs(total[-CHECK_COORDINATES:])
    return [int(k) for k in np.flatnonzero(expected != announced)]

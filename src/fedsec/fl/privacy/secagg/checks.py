"""Check values that let every organization verify the sum the coordinator unmasks.

Each organization draws a fresh check seed and seals it, with its Shamir shares, for every
other party: the coordinator relays it but cannot read it. From the seeds of all parties a sum
was masked over, every organization derives the same secret ``check key``, and from it ``CHECKS``
random rows ``R_k`` over the vector's coordinates and, per party ``p``, offsets ``t_p,k``.
Party ``p`` appends ``c_p,k = <R_k, x_p> + t_p,k`` (in Z_{2^32}) to its encoded vector before
masking, so the unmasked sum ends in ``C_k = <R_k, X> + sum_{survivors} t_p,k``.

Any survivor recomputes the right-hand side from the sum's first coordinates. A coordinator that
alters the sum by ``D != 0`` (or scales it) must alter ``C_k`` by ``<R_k, D>`` without knowing
``R_k``: each check passes with probability at most 1/2 (2^-(32 - v) when ``D``'s entries are
multiples of 2^v), independently, so at most ``2^-CHECKS`` overall; the offsets, unknown to it,
keep it from scaling a sum together with its checks. A coordinator that colludes with one
organization knows the key: this holds against the coordinator alone (see docs/deployment.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping

import numpy as np

from fedsec.fl.privacy.secagg import crypto

#: Check values appended to every masked vector (a forged sum passes with probability <= 2^-40).
CHECKS = 40
MASK32 = np.uint64(0xFFFFFFFF)


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
    """``<R_k, x>`` mod 2^32 for every check row ``R_k`` (a row drawn at a time)."""
    values = np.asarray(encoded, dtype=np.uint32).astype(np.uint64)
    out = np.empty(CHECKS, dtype=np.uint64)
    for k in range(CHECKS):
        row = crypto.keystream(_derived(key, f"row-{k}"), len(values)).astype(np.uint64)
        out[k] = np.sum(row * values, dtype=np.uint64) & MASK32  # wraps mod 2^64, then 2^32
    return out


def offsets(key: bytes, party: str) -> np.ndarray:
    """``t_party,k``: the secret part of ``party``'s check values."""
    return crypto.keystream(_derived(key, f"offset-{party}"), CHECKS).astype(np.uint64)


def check_values(key: bytes, party: str, encoded: np.ndarray) -> np.ndarray:
    """What ``party`` appends to its encoded vector ``encoded``."""
    return ((_projections(key, encoded) + offsets(key, party)) & MASK32).astype(np.uint32)


def forged_checks(key: bytes, survivors: Collection[str], total: np.ndarray) -> list[int]:
    """The checks an unmasked ``total`` (vector then check values) fails, given the parties
    whose vectors it should sum; ``[]``: it is the sum they masked."""
    expected = _projections(key, total[:-CHECKS])
    for party in survivors:
        expected = expected + offsets(key, party)
    expected &= MASK32
    summed = np.asarray(total[-CHECKS:], dtype=np.uint64)
    return [int(k) for k in np.flatnonzero(expected != summed)]

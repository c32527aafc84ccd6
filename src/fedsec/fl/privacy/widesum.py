"""Exact sums of large real values through the secure sum built for model updates.

The secure sum adds fixed-point values modulo 2^32 (resolution 2^-16, sums within ±2^15): right
for model updates, far too narrow for statistics such as a row count or a sum of cubed byte
counts. Here each value becomes an integer with :data:`FRACTION_BITS` fraction bits in a
:data:`RING_BITS`-bit two's-complement ring, cut into 16-bit limbs; each limb travels as one
coordinate of the secure sum, as ``limb / 2^16`` (exactly representable, below the per-party
overflow bound for any number of organizations the protocol allows). Limb sums stay below
``parties * 2^16`` and never wrap, so recombining them gives the exact sum of the encoded
values: the only error is rounding each value to ``2^-64``.

A party's value must stay within ``±2^(RING_BITS - 1 - FRACTION_BITS) / parties`` (about
``1.2e55 / parties``); a larger one is refused before anything is sent.
"""

from __future__ import annotations

import math

import numpy as np

from fedsec.fl.privacy.secagg.encoding import SCALE, EncodingOverflowError, per_party_bound

LIMB_BITS = 16
RING_BITS = 256
FRACTION_BITS = 64
LIMBS = RING_BITS // LIMB_BITS
_MASK = (1 << LIMB_BITS) - 1
_RING = 1 << RING_BITS


def value_bound(parties: int) -> float:
    """Largest magnitude one of ``parties`` organizations may contribute per value."""
    return math.ldexp(1.0, RING_BITS - 1 - FRACTION_BITS) / max(parties, 1)


def widen(values: np.ndarray, parties: int, what: str = "statistics") -> np.ndarray:
    """Real values -> ``LIMBS`` coordinates each, ready for the secure sum of ``parties``."""
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise EncodingOverflowError(f"{what} hold NaN or Infinity")
    bound, limb_peak = value_bound(parties), _MASK / SCALE
    if limb_peak >= per_party_bound(parties):
        raise EncodingOverflowError(f"{parties} organizations are too many for the wide sum")
    peak = float(np.abs(values).max(initial=0.0))
    if peak >= bound:
        raise EncodingOverflowError(
            f"{what}: magnitude {peak:.4g} exceeds the secure-sum bound {bound:.4g} for "
            f"{parties} organizations"
        )
    limbs = np.empty((len(values), LIMBS), dtype=np.float64)
    for i, value in enumerate(values.tolist()):
        fixed = round(math.ldexp(value, FRACTION_BITS)) % _RING
        limbs[i] = [(fixed >> (LIMB_BITS * k)) & _MASK for k in range(LIMBS)]
    return (limbs / SCALE).ravel()


def narrow(summed: np.ndarray) -> np.ndarray:
    """The decoded secure sum of :func:`widen` vectors -> the sums of the original values."""
    limbs = np.rint(np.asarray(summed, dtype=np.float64) * SCALE).astype(np.int64)
    if limbs.ndim != 1 or len(limbs) % LIMBS or (limbs < 0).any():
        raise ValueError(f"a wide sum has {LIMBS} non-negative limbs per value")
    out = []
    for row in limbs.reshape(-1, LIMBS).tolist():
        fixed = sum(limb << (LIMB_BITS * k) for k, limb in enumerate(row)) % _RING
        if fixed >= _RING // 2:
            fixed -= _RING
        out.append(fixed / (1 << FRACTION_BITS))
    return np.asarray(out, dtype=np.float64)

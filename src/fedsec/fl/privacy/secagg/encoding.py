"""Fixed-point encoding of real-valued updates into Z_{2^32}, where masks add and cancel.

A value ``x`` is encoded as ``round(x * 2^16) mod 2^32``; sums wrap around in ``uint32`` and are
decoded as signed 32-bit integers divided by ``2^16``. The sum of all organizations' values must
therefore stay within ``±2^15`` (the overflow bound): each organization's encoded coordinates
are checked against ``2^15 / n_orgs`` before masking, so a sum can never silently wrap.
Resolution is ``2^-16 ≈ 1.5e-5`` per organization and coordinate.
"""

from __future__ import annotations

import numpy as np

from fedsec.core.errors import FedsecError

FRACTION_BITS = 16
SCALE = float(1 << FRACTION_BITS)
MODULUS_BITS = 32
SUM_BOUND = float(1 << (MODULUS_BITS - FRACTION_BITS - 1))  # |sum| < 2^15


class EncodingOverflowError(FedsecError, ValueError):
    """An update is too large for the fixed-point range of the secure sum."""


def per_party_bound(parties: int) -> float:
    """Largest magnitude one party may contribute so ``parties`` values cannot overflow."""
    return SUM_BOUND / max(parties, 1)


def encode(values: np.ndarray, parties: int) -> np.ndarray:
    """Real values -> uint32 field elements; refuses values that could overflow the sum."""
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise EncodingOverflowError("update holds NaN or Infinity")
    bound = per_party_bound(parties)
    peak = float(np.abs(values).max(initial=0.0))
    if peak >= bound:
        raise EncodingOverflowError(
            f"update magnitude {peak:.4g} exceeds the secure-aggregation bound {bound:.4g} "
            f"for {parties} organizations (sum must stay within ±2^15)"
        )
    fixed = np.rint(values * SCALE).astype(np.int64)
    return (fixed & 0xFFFFFFFF).astype(np.uint32)


def decode(field: np.ndarray) -> np.ndarray:
    """uint32 field elements (a sum of encodings) -> real values."""
    return np.asarray(field, dtype=np.uint32).view(np.int32).astype(np.float64) / SCALE

"""Renyi DP of the Poisson-subsampled Gaussian, computed over all orders at once.

The same sums as Opacus' ``opacus.accountants.analysis.rdp`` (Mironov et al. 2019, §3.3:
every term, the same truncation of the fractional-order series), evaluated as numpy arrays
instead of one Python-level term at a time: an accounting or a noise search over ~150 orders
took Opacus seconds (orders up to 1024, series of ~50 terms each), here milliseconds. The
sums are added in another order, so the results differ from Opacus' in the last bits only;
:func:`calibrate` returns exactly Opacus' noise multiplier (see there).

Imported where it is used (it loads SciPy and Opacus), like the rest of the accounting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as opacus_rdp
from opacus.accountants.utils import MAX_SIGMA
from scipy import special

#: A fractional order's series ends at its first term below e^-30 (Opacus' rule).
_LAST_TERM = -30.0

#: Epsilons this close to a threshold of the noise search are decided by Opacus' own
#: computation (far above the last-bits difference of the two sums).
_UNSURE = 1e-6


def epsilon(
    history: Sequence[tuple[float, float, int]], delta: float, orders: Sequence[float]
) -> float:
    """Epsilon at ``delta`` of ``(noise_multiplier, sample_rate, steps)`` entries composed, as
    Opacus' ``RDPAccountant.get_epsilon`` (the best of ``orders``)."""
    alphas = np.asarray(orders, dtype=np.float64)
    total = sum(
        (rdp(q, sigma, alphas) * steps for sigma, q, steps in history), np.zeros_like(alphas)
    )
    eps, _ = opacus_rdp.get_privacy_spent(orders=list(orders), rdp=total, delta=delta)
    return float(eps)


def rdp(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """RDP of one step at rate ``q`` and noise multiplier ``sigma``, at each of ``alphas``
    (Opacus' ``_compute_rdp``, order by order)."""
    if q == 0:
        return np.zeros_like(alphas)
    if sigma == 0:
        return np.full_like(alphas, np.inf)
    if q == 1.0:
        return alphas / (2 * sigma**2)
    whole = np.array([float(a).is_integer() for a in alphas])
    log_a = np.empty_like(alphas)
    log_a[whole] = _log_a_int(q, sigma, alphas[whole].astype(np.int64))
    log_a[~whole] = _log_a_frac(q, sigma, alphas[~whole])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = log_a / (alphas - 1)
    out[np.isinf(alphas)] = np.inf
    bad = ~np.isfinite(out) & np.isfinite(alphas)
    for k in np.flatnonzero(bad):  # a sum that cancelled out: Opacus' own, term by term
        out[k] = opacus_rdp._compute_rdp(q, sigma, float(alphas[k]))
    return out


def _log_a_int(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log A_alpha for integer orders: one finite binomial sum each."""
    if not len(alphas):
        return np.empty(0)
    sizes = alphas + 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    alpha = np.repeat(alphas, sizes).astype(np.float64)
    i = np.arange(sizes.sum()) - np.repeat(starts, sizes)
    with np.errstate(divide="ignore"):
        terms = (
            np.log(special.binom(alpha, i))
            + i * math.log(q)
            + (alpha - i) * math.log(1 - q)
            + (i * i - i) / (2 * sigma**2)
        )
    return _segment_logsumexp(terms, starts)


def _segment_logsumexp(terms: np.ndarray, starts: np.ndarray) -> np.ndarray:
    top = np.maximum.reduceat(terms, starts)
    safe = np.where(np.isfinite(top), top, 0.0)
    shifted = np.exp(terms - np.repeat(safe, np.diff(np.append(starts, len(terms)))))
    with np.errstate(divide="ignore"):
        return np.log(np.add.reduceat(shifted, starts)) + safe


def _log_a_frac(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log A_alpha for fractional orders: two alternating series, each order's cut at its
    first term (of either) below e^-30, as Opacus cuts it."""
    out = np.empty_like(alphas)
    todo = np.arange(len(alphas))
    width = 64
    while len(todo):
        log_s0, log_s1, signs = _frac_terms(q, sigma, alphas[todo], width)
        small = np.maximum(log_s0, log_s1) < _LAST_TERM
        done = small.any(axis=1)
        last = np.argmax(small, axis=1)
        for row in np.flatnonzero(done):
            n = last[row] + 1
            out[todo[row]] = np.logaddexp(
                _signed_logsum(log_s0[row, :n], signs[row, :n]),
                _signed_logsum(log_s1[row, :n], signs[row, :n]),
            )
        todo = todo[~done]
        width *= 4
    return out


def _frac_terms(q: float, sigma: float, alphas: np.ndarray, width: int) -> tuple:
    """The first ``width`` terms (in logs) of each order's two series, and their signs."""
    a = alphas[:, None]
    i = np.arange(width, dtype=np.float64)[None, :]
    coef = special.binom(a, i)
    with np.errstate(divide="ignore"):
        log_coef = np.log(np.abs(coef))
    j = a - i
    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    log_q, log_1q = math.log(q), math.log(1 - q)
    log_e0 = math.log(0.5) + _log_erfc((i - z0) / (math.sqrt(2) * sigma))
    log_e1 = math.log(0.5) + _log_erfc((z0 - j) / (math.sqrt(2) * sigma))
    log_s0 = log_coef + i * log_q + j * log_1q + (i * i - i) / (2 * sigma**2) + log_e0
    log_s1 = log_coef + j * log_q + i * log_1q + (j * j - j) / (2 * sigma**2) + log_e1
    return log_s0, log_s1, np.where(coef > 0, 1.0, -1.0)


def _log_erfc(x: np.ndarray) -> np.ndarray:
    return math.log(2) + special.log_ndtr(-x * 2**0.5)


def _signed_logsum(terms: np.ndarray, signs: np.ndarray) -> float:
    """log of sum(signs * exp(terms)); -inf when it is not positive (Opacus would refuse)."""
    top = terms.max()
    total = float(np.sum(signs * np.exp(terms - top)))
    return math.log(total) + top if total > 0 else -math.inf


def calibrate(target: float, delta: float, q: float, steps: int, tolerance: float = 0.01) -> float:
    """Opacus' ``get_noise_multiplier`` (its RDP accountant, its orders): the same doubling and
    bisection, each step's epsilon from :func:`epsilon`, but where it lies within 1e-6 of a
    threshold the search compares it with, Opacus' own epsilon: every step goes the same way
    as in Opacus, and the multiplier returned is Opacus' exactly."""

    def eps(sigma: float) -> float:
        history = [(sigma, q, steps)]
        fast = epsilon(history, delta, RDPAccountant.DEFAULT_ALPHAS)
        if min(abs(fast - target), abs(fast - (target - tolerance))) > _UNSURE:
            return fast
        accountant = RDPAccountant()
        accountant.history = history
        return float(accountant.get_epsilon(delta=delta))

    eps_high, sigma_low, sigma_high = math.inf, 0.0, 10.0
    while eps_high > target:
        sigma_high = 2 * sigma_high
        eps_high = eps(sigma_high)
        if sigma_high > MAX_SIGMA:
            raise ValueError("The privacy budget is too low.")
    while target - eps_high > tolerance:
        sigma = (sigma_low + sigma_high) / 2
        value = eps(sigma)
        if value < target:
            sigma_high, eps_high = sigma, value
        else:
            sigma_low = sigma
    return sigma_high

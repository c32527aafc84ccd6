"""Differential privacy: calibration and accounting, from Opacus and dp-accounting.

* Sample-level DP (records): DP-SGD at each organization (Opacus' per-sample clipping and
  Gaussian noise, Poisson-sampled mini-batches). The noise multiplier is calibrated so the
  organization's whole training (every round's local steps) meets the target epsilon.
* Client-level DP (organizations): each organization clips its update to an L2 norm and adds
  its share of Gaussian noise before secure aggregation; the accountant composes, per
  organization, the rounds it actually took part in (no amplification by sampling: the
  coordinator knows the selection). With a handful of organizations this gives no meaningful
  epsilon, and the report says so.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from fedsec.core.errors import ConfigError
from fedsec.training.noise import NoiseSource
from fedsec.training.params import Params

if TYPE_CHECKING:
    import dp_accounting

# Opacus and dp-accounting (with SciPy) are imported where they are used: importing this module
# (every scenario's configuration does) must not load them, so that ``fedsec detect`` starts fast.

#: Renyi orders: Opacus' defaults extended upward, so large epsilons are not loosely bounded.
ALPHAS: list[float] = (
    [1 + x / 10.0 for x in range(1, 100)]
    + list(range(12, 64))
    + [64, 96, 128, 192, 256, 384, 512, 1024]
)

#: Beyond this epsilon a DP guarantee says little about any individual.
MEANINGLESS_EPSILON = 10.0

#: Beyond this epsilon (``e^1000``) the guarantee bounds nothing: such noise is refused.
VOID_EPSILON = 1000.0

#: The PLD grid step (10x dp-accounting's default, 10x faster, which adds up over one epsilon
#: per organization: the pessimistic grid is an upper bound either way, measured within 1e-6 of
#: the default's at 5-100 releases, z = 1), and the most grid points one accounting may
#: allocate (about 0.7 GB at peak; the composed grid grows as rounds / noise^2).
PLD_INTERVAL = 1e-3
MAX_PLD_POINTS = 1 << 21

logging.getLogger("absl").setLevel(logging.ERROR)  # dp-accounting's convergence chatter


#: Record-level accountants: Renyi DP (Mironov 2017; loose, the long-standing default) and the
#: privacy random variable accountant (Gopi et al. 2021), whose numerical upper bound is tight
#: for the Poisson-subsampled Gaussian, so the same epsilon allows less noise.
SAMPLE_ACCOUNTANTS: tuple[str, ...] = ("rdp", "prv")


@functools.lru_cache(maxsize=256)
def calibrate_sample_dp(
    target_epsilon: float, delta: float, rate: float, steps: int, accountant: str = "rdp"
) -> float:
    """Noise multiplier for which ``steps`` DP-SGD steps at Poisson rate ``rate`` meet the
    target: Opacus' search (under RDP its exact result, evaluated over all orders at once, see
    :mod:`fedsec.fl.privacy.rdp`). Cached: a deployed site asks again every round."""
    from opacus.accountants.utils import get_noise_multiplier

    from fedsec.fl.privacy import rdp

    try:
        if _known(accountant) == "rdp":
            return rdp.calibrate(target_epsilon, delta, rate, steps)
        return float(
            get_noise_multiplier(
                target_epsilon=target_epsilon,
                target_delta=delta,
                sample_rate=rate,
                steps=steps,
                accountant=accountant,
            )
        )
    except ValueError as error:  # Opacus: "The privacy budget is too low."
        raise ConfigError(
            f"privacy.sample_dp.epsilon = {target_epsilon:g} is out of reach: no noise level "
            f"gives it over {steps} steps at sampling rate {rate:.3g} (delta {delta:g}; "
            f"{error}); raise epsilon, or train fewer steps or at a smaller rate"
        ) from None


def sample_dp_epsilon(
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    accountant: str = "rdp",
) -> float:
    """Epsilon spent by ``steps`` DP-SGD steps (Opacus' RDP, or PRV's upper bound)."""
    return composed_sample_dp_epsilon([(noise_multiplier, sample_rate, steps)], delta, accountant)


def composed_sample_dp_epsilon(
    history: list[tuple[float, float, int]], delta: float, accountant: str = "rdp"
) -> float:
    """Epsilon of Poisson-sampled Gaussian steps whose noise multiplier and rate may vary:
    ``history`` holds ``(noise_multiplier, sample_rate, steps)`` entries. Under RDP, Opacus'
    accountant's sums evaluated over all orders at once (:mod:`fedsec.fl.privacy.rdp`)."""
    from opacus.accountants import PRVAccountant

    from fedsec.fl.privacy import rdp

    history = [entry for entry in history if entry[2] > 0]
    if not history:
        return 0.0
    if _known(accountant) == "prv":
        prv = PRVAccountant()
        prv.history = history
        return float(prv.get_epsilon(delta))
    return rdp.epsilon(history, delta, ALPHAS)


def _known(accountant: str) -> str:
    if accountant not in SAMPLE_ACCOUNTANTS:
        raise ValueError(f"unknown accountant {accountant!r}; choose one of {SAMPLE_ACCOUNTANTS}")
    return accountant


def client_dp_event(noise_multiplier: float, releases: int) -> dp_accounting.DpEvent:
    """``releases`` Gaussian releases of one organization's clipped update, at rate 1.

    No amplification by subsampling: the selection is the seeded ``select_orgs`` (fixed by the
    public scenario seed) or, deployed, the coordinator's choice, and the coordinator sees who
    takes part, so to it nothing about an organization's participation is secret or random.
    Each round an organization takes part in is one full Gaussian release."""
    import dp_accounting

    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.GaussianDpEvent(noise_multiplier), releases
    )


def pld_grid_points(noise_multiplier: float, rounds: int, interval: float = PLD_INTERVAL) -> float:
    """Upper estimate of the grid the PLD accountant allocates for ``rounds`` Gaussian releases:
    the composed privacy loss has mean ``rounds / (2 z^2)`` and spreads about ten standard
    deviations (``sqrt(rounds) / z``) each side."""
    z = noise_multiplier
    return (rounds / z**2 + 20.0 * math.sqrt(rounds) / z) / interval


def pld_interval(noise_multiplier: float, rounds: int) -> float:
    """The PLD grid step: dp-accounting's default, coarsened so the grid stays within
    :data:`MAX_PLD_POINTS` (a coarser pessimistic grid still bounds epsilon from above)."""
    return PLD_INTERVAL * max(1.0, pld_grid_points(noise_multiplier, rounds) / MAX_PLD_POINTS)


@functools.lru_cache(maxsize=256)
def client_dp_rdp_epsilon(noise_multiplier: float, releases: int, delta: float) -> float:
    """Epsilon of ``releases`` Gaussian releases by RDP alone: closed form, instant."""
    from dp_accounting import rdp

    if releases <= 0:
        return 0.0
    renyi = rdp.RdpAccountant()
    renyi.compose(client_dp_event(noise_multiplier, releases))
    return _finite(renyi.get_epsilon(delta))


def check_client_dp(noise_multiplier: float, rounds: int, delta: float) -> None:
    """Refuse, before any training, client-level noise so small that it protects nothing.

    The schedule is not known up front and the coordinator may select an organization every
    round, so the check assumes the worst case: ``rounds`` releases."""
    if noise_multiplier <= 0:
        return
    epsilon = client_dp_rdp_epsilon(noise_multiplier, rounds, delta)
    if epsilon > VOID_EPSILON:
        raise ValueError(
            f"client-level DP noise multiplier {noise_multiplier:g} over {rounds} rounds spends "
            f"epsilon {epsilon:.3g} (RDP), beyond {VOID_EPSILON:g}: a guarantee that bounds "
            "nothing; raise the noise multiplier (about 1 or more), lower the rounds, or set it "
            "to 0 to switch client-level DP off"
        )


@functools.lru_cache(maxsize=256)
def gaussian_pld_epsilon(noise_multiplier: float, releases: int, delta: float) -> float:
    """Epsilon of ``releases`` Gaussian releases by PLD (tight), in bounded memory; infinite
    when RDP already finds it void (no grid is built then)."""
    from dp_accounting import pld

    if releases <= 0:
        return 0.0
    if client_dp_rdp_epsilon(noise_multiplier, releases, delta) > VOID_EPSILON:
        return float("inf")
    accountant = pld.PLDAccountant(
        value_discretization_interval=pld_interval(noise_multiplier, releases)
    )
    accountant.compose(client_dp_event(noise_multiplier, releases))
    return _finite(accountant.get_epsilon(delta))


def client_dp_epsilon(noise_multiplier: float, releases: int, delta: float) -> dict[str, float]:
    """Organization-level epsilon of ``releases`` participations, by PLD (tight) and RDP
    (cross-check); refuses void noise (:func:`check_client_dp`)."""
    check_client_dp(noise_multiplier, releases, delta)
    return {
        "pld": gaussian_pld_epsilon(noise_multiplier, releases, delta),
        "rdp": client_dp_rdp_epsilon(noise_multiplier, releases, delta),
    }


def participation_epsilons(
    noise_multiplier: float, participations: dict[str, int], delta: float
) -> dict[str, float]:
    """Each organization's epsilon (PLD) over the rounds it actually took part in."""
    return {
        org: gaussian_pld_epsilon(noise_multiplier, count, delta)
        for org, count in participations.items()
    }


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else float("inf")


def client_dp_warning(epsilon: float, orgs: int) -> str | None:
    if epsilon <= MEANINGLESS_EPSILON:
        return None
    return (
        f"client-level DP over {orgs} organizations gives epsilon {epsilon:.3g}: no "
        "meaningful protection at this scale (a small epsilon needs a noise multiplier far "
        "above 1, which only hundreds of organizations' sum can carry); protect records with "
        "sample-level DP instead"
    )


def clip_update(delta: Params, clip: float) -> tuple[Params, float]:
    """Scale an update so its global L2 norm is at most ``clip``; returns it and the raw norm."""
    norm = float(np.sqrt(sum(float((d.astype(np.float64) ** 2).sum()) for d in delta)))
    factor = min(1.0, clip / norm) if norm > 0 else 1.0
    return [d * factor for d in delta], norm


def gaussian_share(delta: Params, std: float, noise: NoiseSource) -> Params:
    """Add one organization's share of the Gaussian noise (the shares sum to the full noise)."""
    return [d + noise.gaussian(d.shape, std) for d in delta]

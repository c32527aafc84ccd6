"""Preprocessing statistics released with their own DP noise, counted in the record-level ε.

With ``privacy.sample_dp.stats_epsilon_share = s`` (0 < s < 1) and a record-level target ε:

* each organization builds the histograms of :mod:`fedsec.features.histograms` (one bounded
  contribution per record: L2 sensitivity ``sqrt(columns + 1)``) and adds Gaussian noise of
  standard deviation ``z_s * sensitivity`` drawn from **its own** noise source (seeded from the
  run seed in simulation; a deployed site would draw from ``os.urandom``). Every organization
  adds the full noise, so its release is private on its own, in clear or under secure
  aggregation;
* DP-SGD is calibrated (as without statistics noise) to ``(1 - s) * ε``;
* ``z_s`` is the smallest noise multiplier for which the statistics release composed with
  every planned DP-SGD step of the organization stays within ε, by dp-accounting's RDP
  accountant (which pays the ``log(1/δ)`` conversion once, so the statistics get more than
  ``s * ε`` would buy alone); the ε reported is that composition over the steps taken.

The coordinator sums the noisy histograms and takes bins under a noise threshold as empty
(:data:`BIN_FLOOR` standard deviations of the summed noise). The label set is the public
taxonomy: every family is a class, its weight from its noisy row count.
"""

from __future__ import annotations

import copy
import functools
import math
from collections import Counter
from collections.abc import Callable

import numpy as np

from fedsec.core import seeding
from fedsec.data.taxonomy import FAMILIES
from fedsec.features.histograms import from_histograms, histogram_vector, sensitivity
from fedsec.features.moments import FeatureStats, union_columns
from fedsec.fl.privacy import secagg
from fedsec.fl.privacy.dp import ALPHAS
from fedsec.fl.privacy.secure_stats import STATISTICS_ROUNDS, OrgRows
from fedsec.fl.privacy.widesum import narrow, widen
from fedsec.training.noise import NoiseSource, SeededNoise

#: A summed histogram bin counts as empty at or below this many standard deviations of the
#: summed noise: about 3e-5 of empty bins pass by chance.
BIN_FLOOR = 4.0


def training_epsilon(epsilon: float, share: float) -> float:
    """What DP-SGD is calibrated to when ``share`` of the target is set aside for statistics."""
    return (1.0 - share) * epsilon


@functools.lru_cache(maxsize=256)
def calibrate_stats_noise(
    target_epsilon: float, delta: float, train_noise: float, sample_rate: float, steps: int
) -> float:
    """Smallest statistics noise multiplier (to 1e-4 relative) whose release, composed with
    ``steps`` DP-SGD steps at ``train_noise``, stays within the target (RDP accountant)."""

    def spent(z: float) -> float:
        return composed_epsilon(z, train_noise, sample_rate, steps, delta)

    if composed_epsilon(math.inf, train_noise, sample_rate, steps, delta) >= target_epsilon:
        raise ValueError(
            f"DP-SGD alone spends the whole target epsilon {target_epsilon:g}: nothing is left "
            "for the statistics (raise privacy.sample_dp.stats_epsilon_share)"
        )
    low, high = 1e-2, 1.0
    while spent(high) > target_epsilon:
        low, high = high, high * 2
    while high - low > 1e-4 * high:
        middle = (low + high) / 2
        low, high = (middle, high) if spent(middle) > target_epsilon else (low, middle)
    return high


def composed_epsilon(
    stats_noise: float, train_noise: float, sample_rate: float, steps: int, delta: float
) -> float:
    """ε of the statistics release followed by ``steps`` Poisson-sampled DP-SGD steps."""
    import dp_accounting  # accounting only: kept out of scoring's start-up

    accountant = copy.deepcopy(_dp_sgd_accountant(train_noise, sample_rate, steps))
    if math.isfinite(stats_noise):
        accountant.compose(dp_accounting.GaussianDpEvent(stats_noise))
    return float(accountant.get_epsilon(delta))


@functools.lru_cache(maxsize=256)
def _dp_sgd_accountant(train_noise: float, sample_rate: float, steps: int):
    """The RDP accountant after ``steps`` DP-SGD steps alone (never changed: copied before
    composing). The subsampled Gaussian's RDP is the slow part of :func:`composed_epsilon` and
    the same for every statistics noise :func:`calibrate_stats_noise` tries: computed once, not
    at each of its ~20 bisection steps (measured on a 5-organization run: 45 of its 65 s of
    calibration, on a loaded machine).
    RDP adds up per order, so the order of composition changes no bit of ε."""
    import dp_accounting
    from dp_accounting import rdp

    accountant = rdp.RdpAccountant(orders=ALPHAS)
    if steps and train_noise > 0:
        step = dp_accounting.PoissonSampledDpEvent(
            sample_rate, dp_accounting.GaussianDpEvent(train_noise)
        )
        accountant.compose(dp_accounting.SelfComposedDpEvent(step, steps))
    return accountant


def noisy_histogram(
    org: OrgRows, columns: list[str], noise_multiplier: float, noise: NoiseSource
) -> np.ndarray:
    """What one organization releases: its histograms plus its own Gaussian noise."""
    exact = histogram_vector(org.features, org.families, columns)
    std = noise_multiplier * sensitivity(columns)
    return exact + noise.gaussian(exact.shape, std)


def dp_statistics(
    orgs: list[OrgRows],
    noise_multipliers: dict[str, float],
    noise_of: Callable[[str], NoiseSource],
    secure: bool = False,
    threshold: int | None = None,
) -> tuple[FeatureStats, Counter]:
    """Feature summaries and rows per family from every organization's noisy histograms,
    summed in clear or (``secure``) by one secure sum. ``noise_multipliers[org]``: the
    organization's statistics noise multiplier; ``noise_of(org)``: its noise source."""
    numeric, categorical = union_columns(
        [(list(o.features.numeric), list(o.features.categorical)) for o in orgs]
    )
    released = {
        o.name: noisy_histogram(o, numeric, noise_multipliers[o.name], noise_of(o.name))
        for o in orgs
    }
    if secure:
        wide = {name: widen(v, len(orgs)) for name, v in released.items()}
        total = narrow(secagg.secure_sum(wide, STATISTICS_ROUNDS["summaries"], threshold).total)
    else:
        total = np.sum(list(released.values()), axis=0)
    summed_std = sensitivity(numeric) * math.sqrt(sum(noise_multipliers[o.name] ** 2 for o in orgs))
    stats, counts = from_histograms(total, numeric, categorical, BIN_FLOOR * summed_std)
    # which families the organizations hold is what a noisy count cannot tell for rare ones:
    # every family of the (public) taxonomy is a class, weighted by its noisy count (at least 1)
    return stats, Counter({f: max(counts.get(f, 0), 1) for f in FAMILIES})


def seeded_noise(seed: int) -> Callable[[str], NoiseSource]:
    """Simulation: each organization's statistics noise seeded from the run seed and its name."""
    return lambda org: SeededNoise(seeding.derive_seed(seed, "statistics", org))

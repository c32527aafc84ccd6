"""What a reported record-level epsilon compares, and how it is written down.

Opacus and dp-accounting account for *add/remove-one* neighbours: datasets that differ by one
record being present or absent. Every round also reveals each organization's exact row count
(the weight of its update, the Poisson rate ``batch / rows``), which tells such neighbours apart:
under that relation the counts are outside epsilon. Under *replace-one* neighbours (same number
of rows, one record changed) the counts are the same on both sides and harmless, but epsilon is
larger: :func:`replace_one_epsilon` gives it for the DP-SGD steps.
"""

from __future__ import annotations

import functools
from decimal import ROUND_CEILING, Decimal

from fedsec.fl.privacy import dp

#: Decimals of a reported epsilon; it is rounded up to them, never down.
EPSILON_DECIMALS = 4

#: The neighbouring relation of every reported record-level epsilon.
ADD_REMOVE = (
    "add/remove one record (the accountants' default): exact row counts tell such neighbours "
    "apart and are outside epsilon; epsilon_replace_one is for replace-one neighbours "
    "(row counts fixed)"
)


def epsilon_up(epsilon: float, decimals: int = EPSILON_DECIMALS) -> float:
    """``epsilon`` rounded up to ``decimals`` (a report never states less than was spent)."""
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(epsilon))).quantize(step, rounding=ROUND_CEILING))


def replace_one_epsilon(noise: float, rate: float, steps: int, delta: float) -> float:
    """Epsilon of ``steps`` Poisson-sampled Gaussian steps for replace-one neighbours, by
    dp-accounting's PLD (its pessimistic grid: an upper bound), rounded up."""
    return replace_one_composed(((noise, rate, steps),), delta)


@functools.lru_cache(maxsize=256)
def replace_one_composed(history: tuple[tuple[float, float, int], ...], delta: float) -> float:
    """:func:`replace_one_epsilon` of steps whose noise multiplier and rate may vary: ``history``
    holds ``(noise_multiplier, sample_rate, steps)`` entries (a site's ledger)."""
    import dp_accounting
    from dp_accounting import pld

    terms = [(noise, rate, steps) for noise, rate, steps in history if steps > 0 and noise > 0]
    if not terms:
        return 0.0
    grid = dp.pld_interval(min(t[0] for t in terms), sum(t[2] for t in terms))
    accountant = pld.PLDAccountant(
        dp_accounting.NeighboringRelation.REPLACE_ONE, value_discretization_interval=grid
    )
    for noise, rate, steps in terms:
        step = dp_accounting.PoissonSampledDpEvent(rate, dp_accounting.GaussianDpEvent(noise))
        accountant.compose(dp_accounting.SelfComposedDpEvent(step, steps))
    return epsilon_up(float(accountant.get_epsilon(delta)))

"""When traffic happens: hourly activity profiles (diurnal and weekly cycles) and sampling.

A profile gives a relative activity per hour of the simulation; flow start times are drawn by
choosing hours in proportion to activity, then a uniform second within the hour. Beacons are
periodic with jitter instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

HOUR = 3600.0
DAY = 86400.0


def _office(weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Working hours: ramps at 7-9 and 17-19, a lunch dip, quiet nights and weekends."""
    day = np.interp(
        hour,
        [0, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19, 21, 23],
        [0.04, 0.04, 0.15, 0.6, 1.0, 1.0, 0.7, 0.85, 1.0, 1.0, 0.7, 0.3, 0.15, 0.08, 0.04],
    )
    return np.where(weekday >= 5, 0.05 + 0.1 * (day > 0.5), day)


def _customers(weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Public services: a smooth diurnal wave peaking in the evening, lighter at weekends."""
    wave = 0.55 + 0.45 * np.cos(2 * np.pi * (hour - 19) / 24)
    return wave * np.where(weekday >= 5, 0.8, 1.0) + 0.1


def _always(weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Machine traffic with a faint human imprint."""
    return 1.0 + 0.15 * np.cos(2 * np.pi * (hour - 14) / 24) + 0.0 * weekday


def _polling(weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Controllers polled around the clock."""
    return np.ones_like(hour, dtype=float) + 0.0 * weekday


def _nightly(weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Batch jobs (backups) between 01:00 and 05:00."""
    return np.where((hour >= 1) & (hour < 5), 1.0, 0.01) + 0.0 * weekday


def _maintenance(weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Planned windows: Tuesday and Thursday 20:00-24:00 (scans, patch pushes)."""
    return np.where(np.isin(weekday, [1, 3]) & (hour >= 20), 1.0, 0.005)


PROFILES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "office": _office,
    "customers": _customers,
    "always": _always,
    "polling": _polling,
    "nightly": _nightly,
    "maintenance": _maintenance,
}


def hourly_activity(profile: str, days: int, start_weekday: int) -> np.ndarray:
    """Relative activity of each hour of the simulation (length ``24 * days``)."""
    hours = np.arange(24 * days)
    weekday = (start_weekday + hours // 24) % 7
    return PROFILES[profile](weekday, (hours % 24).astype(float)).astype(float)


def sample_times(
    activity: np.ndarray, rng: np.random.Generator, n: int, start: float
) -> np.ndarray:
    """``n`` start times (epoch seconds) with hours drawn in proportion to ``activity``."""
    hour = rng.choice(len(activity), size=n, p=activity / activity.sum())
    return start + (hour + rng.random(n)) * HOUR


def window_times(
    rng: np.random.Generator, n: int, begin: float, end: float, burstiness: float = 0.0
) -> np.ndarray:
    """``n`` times in ``[begin, end)``; ``burstiness`` > 0 crowds them into a few bursts."""
    if burstiness <= 0:
        return np.sort(rng.uniform(begin, end, n))
    bursts = max(1, round(1 / burstiness))
    centres = rng.uniform(begin, end, bursts)
    width = (end - begin) / (4 * bursts)
    times = centres[rng.integers(0, bursts, n)] + rng.normal(0, width, n)
    return np.sort(np.clip(times, begin, np.nextafter(end, begin)))


def beacon_times(
    rng: np.random.Generator, n: int, begin: float, end: float, jitter: float = 0.3
) -> np.ndarray:
    """``n`` check-ins spread over ``[begin, end)`` at a period with ``jitter`` (C2 sleep)."""
    period = (end - begin) / max(n, 1)
    offsets = period * (np.arange(n) + 0.5 + jitter * rng.uniform(-0.5, 0.5, n))
    return np.clip(begin + offsets, begin, np.nextafter(end, begin))

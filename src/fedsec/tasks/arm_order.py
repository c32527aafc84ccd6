"""The arms of a run, trained one after another: divergence and interrupts.

An arm whose parameters became NaN or infinite (a learning rate far too high, say) stops the run
with a clear error naming the arm. An interrupt (Ctrl-C) during an arm ends training there; the
arms already trained are evaluated and written as usual, and ``metrics["incomplete"]`` records
what is missing, so the run folder can never pass for a complete one. With no arm finished the
interrupt goes on (nothing to keep).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from fedsec.core.errors import ConfigError

A = TypeVar("A")


def check_finite(name: str, arm: object) -> None:
    """Refuse an arm whose models hold NaN or infinite parameters."""
    models = getattr(arm, "models", {}) or {}
    for model in {id(m): m for m in models.values()}.values():
        params = getattr(model, "params", None) or []
        if not all(np.isfinite(np.asarray(p)).all() for p in params):
            raise ConfigError(
                f"arm {name!r}: training diverged (model parameters became NaN or infinite); "
                "lower training.lr or change the strategy's settings"
            )


def train_in_order(names: list[str], train: Callable[[str], A]) -> tuple[dict[str, A], dict | None]:
    """``{name: train(name)}`` in order, and None; after Ctrl-C, the arms that finished and a
    note of what did not (``metrics["incomplete"]``)."""
    arms: dict[str, A] = {}
    for name in names:
        try:
            arms[name] = train(name)
            check_finite(name, arms[name])
        except KeyboardInterrupt:
            if not arms:
                raise
            return arms, {
                "interrupted_during": name,
                "finished_arms": list(arms),
                "missing_arms": [n for n in names if n not in arms],
            }
    return arms, None


def incomplete_lines(metrics: dict) -> list[str]:
    """The report's warning for an interrupted run (nothing for a complete one)."""
    note = metrics.get("incomplete")
    if not note:
        return []
    return [
        f"**Incomplete run**: stopped by the user while training `{note['interrupted_during']}`. "
        f"Only these arms finished and are reported: {', '.join(note['finished_arms'])}; "
        f"missing: {', '.join(note['missing_arms'])}.",
        "",
    ]

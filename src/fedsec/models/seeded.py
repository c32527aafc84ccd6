"""Reproducible network construction: initial weights drawn from a seeded generator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


def seeded_build(factory: Callable[[], M], seed_generator: torch.Generator | None) -> M:
    """``factory()`` with torch's global generator seeded from ``seed_generator`` (restored
    afterwards); without a generator, torch's current state is used."""
    if seed_generator is None:
        return factory()
    state = torch.random.get_rng_state()
    torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=seed_generator)))
    try:
        return factory()
    finally:
        torch.random.set_rng_state(state)

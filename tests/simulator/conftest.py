"""A small consortium simulation shared by the simulator tests (generated once per session)."""

from __future__ import annotations

import pytest

from fedsec.simulator import Simulation, load_simulation, simulate

SMALL = ["flows=20000"]


@pytest.fixture(scope="session")
def small_simulation() -> Simulation:
    return simulate(load_simulation("consortium", SMALL))

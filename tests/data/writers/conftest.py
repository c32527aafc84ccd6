"""Flow records from a small simulation: every protocol, state and label the writers meet."""

from __future__ import annotations

import pandas as pd
import pytest

from fedsec.simulator import load_simulation, simulate


@pytest.fixture(scope="session")
def records() -> pd.DataFrame:
    simulation = simulate(load_simulation("consortium", ["flows=8000", "events=false"]))
    flows = pd.concat([o.flows for o in simulation.orgs], ignore_index=True)
    return flows.drop(columns=["stage", "behaviour"])

"""One organization's simulated telemetry, as the generator, host events and writers share it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fedsec.simulator.hosts import OrgHosts


@dataclass
class OrgTraffic:
    """One organization's simulated telemetry."""

    name: str
    archetype: str
    hosts: OrgHosts
    flows: pd.DataFrame
    events: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

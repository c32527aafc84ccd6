"""The cyber-incident simulator: organizations, campaigns, hard cases, telemetry writers.

``load_simulation`` reads a simulation (built-in name or TOML), ``simulate`` generates every
organization's flows and host events, ``write_dataset`` writes them one folder per organization
(plus ``manifest.json`` and an experiment ``scenario.toml``), and ``experiment_scenario`` builds
the federated experiment that trains on the first ``train_days`` and tests on the rest.
"""

from fedsec.simulator.config import SimulationConfig, builtin_names, load_simulation
from fedsec.simulator.generator import Simulation, simulate
from fedsec.simulator.traffic import OrgTraffic

__all__ = [
    "OrgTraffic",
    "Simulation",
    "SimulationConfig",
    "builtin_names",
    "load_simulation",
    "simulate",
]

"""Shared fixtures: a small simulated consortium whose organizations each hold their own files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fedsec.scenarios.config import Scenario, parse_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset

ORGS = 3


@pytest.fixture(scope="session")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario]:
    """(data folder, a per-source scenario of its first three organizations, 3 rounds)."""
    root = tmp_path_factory.mktemp("consortium") / "data"
    write_dataset(simulate(load_simulation("consortium", ["flows=6000"])), root)
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["data"]["sources"] = raw["data"]["sources"][:ORGS]
    raw["rounds"] = 3
    raw["name"] = "consortium-3"
    return root, parse_scenario(raw)

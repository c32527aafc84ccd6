"""A small simulated consortium and a classifier trained on its first week, laid out as a demo
run folder (``data/`` and ``model/``)."""

from __future__ import annotations

from pathlib import Path

from fedsec.bundles.bundle import save_bundle
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset


def small_run(root: Path, flows: int = 8000, rounds: int = 15, seed: int = 0) -> Path:
    """Writes ``root/data`` and ``root/model``; returns ``root``."""
    config = load_simulation("consortium", [f"flows={flows}", f"seed={seed}"])
    write_dataset(simulate(config), root / "data")
    scenario = load_scenario(
        str(root / "data" / "scenario.toml"),
        [f"rounds={rounds}", 'evaluation.arms=["federated"]', f"seed={seed}"],
    )
    _, model = run_experiment(scenario, root / "data").product()
    save_bundle(root / "model", model, {})
    return root


def shared_small_run(tmp_path_factory) -> Path:
    """``small_run`` with its defaults, built once for every test file that reads it."""
    from tests.conftest import built_once

    return built_once(tmp_path_factory, "small-run", small_run)

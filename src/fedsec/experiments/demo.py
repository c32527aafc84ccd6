"""The built-in demo: simulate a consortium, federate, evaluate, report; no dataset needed.

The run directory holds the usual run outputs (config.toml, metrics.json with an extra
``campaigns`` section, report.md, plots, model bundle) and ``data/``, the generated consortium
(one folder per organization), so ``fedsec detect`` can be tried on it next.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fedsec.bundles.keys import default_signer
from fedsec.core import atomic, outputs
from fedsec.experiments import campaigns as campaign_report
from fedsec.experiments.driver import run_experiment
from fedsec.experiments.rundir import fill_run
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.loading import load_scenario
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from fedsec.tasks.base import Run

DEMO_SIMULATION = "consortium"
WRITER = "fedsec demo"  # the command named in the run folder's marker
DATA_DIR = "data"


@dataclass
class DemoRun:
    experiment: Run
    campaigns: dict
    out: Path
    timing: dict


def run_demo(
    out: Path,
    *,
    simulation: str = DEMO_SIMULATION,
    overrides: list[str] | None = None,
    fmt: str = "flows",
    tick: Callable[[str], None] = lambda _: None,
    on_generated: Callable[[dict, Scenario], None] = lambda *_: None,
    force: bool = False,
) -> DemoRun:
    """generate -> federate -> evaluate -> report, into the run directory ``out`` (an earlier
    fedsec output there is replaced only with ``force``)."""
    started = time.perf_counter()
    config = load_simulation(simulation, overrides)
    signer = default_signer()  # a key that cannot sign is said before training, not after it
    out = Path(out)
    with outputs.output_directory(out, WRITER, force=force) as staging:
        data = staging / DATA_DIR
        manifest = write_dataset(simulate(config), data, fmt)
        generated = time.perf_counter()
        scenario = load_scenario(str(data / "scenario.toml"))
        on_generated(manifest, scenario)
        experiment = run_experiment(scenario, data, tick)
        campaigns = campaign_report.campaign_metrics(experiment)
        experiment.metrics["campaigns"] = campaigns
        experiment.timing["generate_s"] = round(generated - started, 3)
        fill_run(experiment, staging, signer)
        report = staging / "report.md"
        atomic.write_text(report, report.read_text() + "\n" + campaign_report.render(campaigns))
    timing = {
        "generate_s": round(generated - started, 3),
        "experiment_s": experiment.timing.get("wall_s"),
        "total_s": round(time.perf_counter() - started, 3),
    }
    return DemoRun(experiment, campaigns, out, timing)

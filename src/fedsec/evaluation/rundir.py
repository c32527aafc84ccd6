"""Write a run directory atomically: config.toml, metrics.json, report.md, plots, model bundle."""

from __future__ import annotations

from pathlib import Path

from fedsec import __version__, atomic
from fedsec.evaluation import plots, report
from fedsec.evaluation.experiment import Experiment
from fedsec.models.bundle import save_bundle
from fedsec.scenarios.config import Scenario

MODEL_DIR = "model"


def training_provenance(scenario: Scenario, arm: str, orgs: list[str]) -> dict:
    """How a shipped model was trained (every bundle kind records this)."""
    return {
        "scenario": scenario.name,
        "arm": arm,
        "seed": scenario.seed,
        "rounds": scenario.rounds,
        "strategy": scenario.strategy.name,
        "organizations": orgs,
        "fedsec_version": __version__,
    }


def provenance(experiment: Experiment, arm: str) -> dict:
    scenario = experiment.scenario
    return {
        **training_provenance(scenario, arm, [o.name for o in experiment.federation.orgs]),
        "input_formats": sorted({s.format for s in scenario.data.sources}),
    }


def write_run(experiment: Experiment, out: Path) -> Path:
    """Everything the run produced, in one directory that appears complete or not at all."""
    metrics = {**experiment.metrics, "timing": experiment.timing}
    config_text = experiment.scenario.to_toml()
    with atomic.directory(Path(out)) as staging:
        (staging / "config.toml").write_text(config_text)
        atomic.write_json(staging / "metrics.json", metrics)
        (staging / "report.md").write_text(report.render(metrics, experiment.timing, config_text))
        plots.learning_curves(metrics, staging / "macro_f1_per_round.png")
        plots.per_org_comparison(metrics, staging / "per_org_comparison.png")
        if "federated" in experiment.arms or "centralized" in experiment.arms:
            arm, model = experiment.product()
            save_bundle(staging / MODEL_DIR, model, provenance(experiment, arm))
    return Path(out)

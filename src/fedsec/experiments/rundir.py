"""Write a run directory atomically: config.toml, metrics.json, report.md, plots, model bundle."""

from __future__ import annotations

from pathlib import Path

from fedsec import __version__
from fedsec.bundles.bundle import save_anomaly_bundle, save_bundle
from fedsec.bundles.signing import Signer
from fedsec.core import atomic, outputs
from fedsec.reporting import figures, plots, report
from fedsec.scenarios.config import Scenario
from fedsec.tasks.anomaly import report as anomaly_report
from fedsec.tasks.anomaly.experiment import AnomalyExperiment
from fedsec.tasks.classification.experiment import Experiment

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


def provenance(experiment: Experiment | AnomalyExperiment, arm: str) -> dict:
    scenario = experiment.scenario
    return {
        **training_provenance(scenario, arm, [o.name for o in experiment.federation.orgs]),
        "input_formats": sorted({s.format for s in scenario.data.sources}),
    }


def write_run(
    experiment: Experiment,
    out: Path,
    signer: Signer | None = None,
    *,
    force: bool = False,
    writer: str = "fedsec simulate",
) -> Path:
    """Everything the run produced, in one directory that appears complete or not at all (an
    earlier fedsec output at ``out`` is replaced only with ``force``: see
    :mod:`fedsec.core.outputs`); the bundle is signed by ``signer`` (default: the user's key)."""
    with outputs.output_directory(Path(out), writer, force=force) as staging:
        fill_run(experiment, staging, signer)
    return Path(out)


def fill_run(experiment: Experiment, folder: Path, signer: Signer | None = None) -> None:
    """The run's files in ``folder``: config, metrics, report, plots and the model bundle."""
    metrics = {**experiment.metrics, "timing": experiment.timing}
    config_text = experiment.scenario.to_toml()
    (folder / "config.toml").write_text(config_text)
    atomic.write_json(folder / "metrics.json", metrics)
    (folder / "report.md").write_text(report.render(metrics, experiment.timing, config_text))
    plots.learning_curves(metrics, folder / figures.LEARNING_CURVE_PNG)
    plots.per_org_comparison(metrics, folder / figures.PER_ORG_PNG)
    if "federated" in experiment.arms or "centralized" in experiment.arms:
        arm, model = experiment.product()
        save_bundle(folder / MODEL_DIR, model, provenance(experiment, arm), signer)


def write_anomaly_run(
    experiment: AnomalyExperiment,
    out: Path,
    signer: Signer | None = None,
    *,
    force: bool = False,
) -> Path:
    """An anomaly run: the same layout, with ROC curves, score histograms and the shared deep
    model's bundle (the federated autoencoder when trained) holding per-org thresholds."""
    metrics = {**experiment.metrics, "timing": experiment.timing}
    config_text = experiment.scenario.to_toml()
    with outputs.output_directory(Path(out), "fedsec simulate", force=force) as staging:
        (staging / "config.toml").write_text(config_text)
        atomic.write_json(staging / "metrics.json", metrics)
        text = anomaly_report.render(metrics, experiment.timing, config_text)
        (staging / "report.md").write_text(text)
        plots.roc_curves(metrics, experiment.plot_data, staging / figures.ROC_PNG)
        plots.score_histograms(metrics, experiment.plot_data, staging / figures.HISTOGRAM_PNG)
        plots.per_org_auc(metrics, staging / figures.PER_ORG_AUC_PNG)
        if any(a.shared and a.model != "iforest" for a in experiment.arms.values()):
            arm, model = experiment.product()
            model_dir = staging / MODEL_DIR
            save_anomaly_bundle(model_dir, model, provenance(experiment, arm), signer)
    return Path(out)

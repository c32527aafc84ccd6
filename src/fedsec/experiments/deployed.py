"""Run directories for deployed jobs: the same files as ``fedsec simulate`` writes.

The federated model comes from the deployment (:class:`JobResult`); everything else reuses the
in-process evaluation. Two honest modes:

* with the scenario's data at hand (a loopback federation, a test harness), the other arms are
  trained and every model is evaluated exactly as ``fedsec simulate`` evaluates it;
* without it (a real consortium: the coordinator holds no rows), the run directory holds the
  model bundle, the training history and what each site measured on its own held-out rows.

Either way ``metrics.json`` gains a ``deployment`` section and ``report.md`` a section naming
every dropout, refusal, flag and round that aggregated nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sklearn.base import clone

from fedsec.bundles.anomaly_bundle import save_anomaly_bundle
from fedsec.bundles.bundle import save_bundle
from fedsec.bundles.logs_bundle import save_log_bundle
from fedsec.bundles.signing import Signer
from fedsec.bundles.tree_bundle import save_tree_bundle
from fedsec.core import atomic, outputs
from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.attestation import ReleaseTerms, require_attested
from fedsec.engines.nvflare.records import JobResult
from fedsec.engines.nvflare.release_chain import chain_terms
from fedsec.engines.nvflare.release_setup import setup_terms
from fedsec.engines.nvflare.results import DeploymentError
from fedsec.engines.nvflare.setups import DetectorSetup
from fedsec.engines.nvflare.site_models import DetectorModel
from fedsec.engines.nvflare.statistics import reported
from fedsec.experiments.deployed_logs import (
    deployed_logs_arm,
    log_namespaces,
    logs_model,
)
from fedsec.experiments.deployed_report import render
from fedsec.experiments.driver import run_experiment
from fedsec.experiments.rundir import MODEL_DIR, write_run
from fedsec.features.preprocess import Preprocessor
from fedsec.fl.robustness.summary import defence_summary
from fedsec.models.anomaly import AnomalyDetector
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.deeplog import DeepLogDetector
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.tree_structure import MalformedBooster
from fedsec.models.trees import TreeClassifier
from fedsec.scenarios.config import Scenario
from fedsec.tasks.anomaly.arms import AnomalyArm
from fedsec.tasks.base import Run
from fedsec.tasks.classification import trees
from fedsec.tasks.classification.arms import ArmModels, pooled_val, val_macro_f1
from fedsec.tasks.classification.experiment import org_frames
from fedsec.tasks.classification.learner import OrgFrames
from fedsec.tasks.federate import TrainedArm, curve_rounds
from fedsec.tasks.registry import task_of

WRITER = "fedsec job submit"


def deployed_scenario(scenario: Scenario, detector: str | None) -> Scenario:
    """The scenario a deployed job's run directory describes: an anomaly job trains one deep
    model (``detector``, by default the first), so the run's other arms train that one too."""
    anomaly = getattr(scenario, "anomaly", None)
    if anomaly is None:
        return scenario
    detector = detector or anomaly.models[0]
    if detector not in anomaly.models:
        raise ConfigError(f"scenario {scenario.name!r} trains {anomaly.models}, not {detector!r}")
    return scenario.model_copy(
        update={"anomaly": anomaly.model_copy(update={"models": [detector]})}
    )


Deployed = FamilyClassifier | AnomalyDetector | DeepLogDetector | TreeClassifier


def deployed_model(result: JobResult, scenario: Scenario) -> Deployed:
    """The deployment's final global model: a classifier, a one-class detector with its
    centre and error scale (thresholds to be calibrated), or a DeepLog model whose events
    are hashed with the submitted scenario's key (the coordinator never held it)."""
    if result.params is None or result.setup is None:
        raise ValueError("the deployment produced no model")
    setup = result.setup
    if setup.get("task") == "anomaly":
        return DetectorModel().detector(DetectorSetup.model_validate(setup), result.params)
    if setup.get("task") == "logs":
        return logs_model(result, scenario)
    if setup.get("task") == "trees":
        pre, classes = Preprocessor.from_json(setup["preprocessing"]), list(setup["classes"])
        model = TreeClassifier(pre, classes, setup["view"], scenario.evaluation.decision)
        return checked_booster(model.set_model(result.params[0].tobytes()))
    return FamilyClassifier(
        MLPSpec.from_json(setup["architecture"]),
        Preprocessor.from_json(setup["preprocessing"]),
        list(setup["classes"]),
        setup["view"],
        decision=scenario.evaluation.decision,
    ).set_weights(result.params)


def checked_booster(model: TreeClassifier) -> TreeClassifier:
    """``model`` once its booster (the job's result, from the coordinator) passed every tree
    check; a malformed one is the job's error, said in one line."""
    from xgboost.core import XGBoostError

    try:
        model.booster()
    except (MalformedBooster, XGBoostError) as error:
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DeploymentError(f"the job's booster is refused: {problem}") from None
    return model


def deployed_arm(result: JobResult, scenario: Scenario, orgs: list[OrgFrames]) -> ArmModels:
    """The federated arm as the in-process evaluation expects it, trained by the deployment."""
    model = deployed_model(result, scenario)
    assert isinstance(model, FamilyClassifier | TreeClassifier)
    names = [o.name for o in orgs]
    encoded = dict.fromkeys(names, pooled_val(model.preprocessor, orgs))
    curve = []
    if isinstance(model, TreeClassifier):  # the booster after each curve round's trees
        curve = trees.curve(scenario, dict.fromkeys(names, model), orgs, encoded)
    for round_, params in sorted(result.curve.items()):
        at_round = clone(model).set_weights(params)
        curve.append((round_, val_macro_f1(dict.fromkeys(names, at_round), orgs, encoded)))
    return ArmModels(
        "federated",
        dict.fromkeys(names, model),
        curve,
        float(result.timing.get("total_s", 0.0)),
        [h.seconds for h in result.history],
        _privacy(result),
        [h.aggregation_seconds for h in result.history],
        participation=result.participation(),
    )


def deployed_detector_arm(result: JobResult, scenario: Scenario) -> AnomalyArm:
    """The ``federated_<detector>`` arm of an anomaly run, trained by the deployment; its
    curve is the round loss at the scenario's curve rounds, as in process."""
    model = deployed_model(result, scenario)
    assert isinstance(model, AnomalyDetector)
    marks = set(curve_rounds(scenario))
    curve = [(h.round, round(h.loss, 6)) for h in result.history if h.round in marks and h.loss]
    return AnomalyArm(
        f"federated_{model.kind}",
        dict.fromkeys(result.sites, model),
        curve,
        float(result.timing.get("total_s", 0.0)),
        [h.seconds for h in result.history],
        _privacy(result),
        [h.aggregation_seconds for h in result.history],
        participation=result.participation(),
        setting="federated",
        model=model.kind,
    )


def _privacy(result: JobResult) -> dict:
    """The record-level DP each site reports having spent."""
    return {
        site: reply.get("sample_dp", {})
        for site, reply in result.evaluation.items()
        if isinstance(reply, dict)
    }


def trained_arms(result: JobResult, scenario: Scenario, federation: Any) -> dict[str, TrainedArm]:
    """The arm the deployment trained, by name, as the scenario's task evaluates it."""
    arm = DEPLOYED_ARMS[scenario.task](result, scenario, federation)
    return {arm.name: arm}


#: How each deployable task's arm is made from a job's result, by the scenario's ``task``.
DEPLOYED_ARMS: dict[str, Callable[[JobResult, Scenario, Any], TrainedArm]] = {
    "classification": lambda result, scenario, federation: deployed_arm(
        result, scenario, org_frames(federation)
    ),
    "anomaly": lambda result, scenario, _federation: deployed_detector_arm(result, scenario),
    "logs": deployed_logs_arm,
}


def sum_protection(scenario: Scenario) -> str:
    """How the coordinator received the updates it aggregated."""
    if scenario.privacy.secure_aggregation:
        return "secure aggregation"
    if scenario.privacy.homomorphic_encryption:
        return "homomorphic encryption"
    return "clear"


def deployment_section(result: JobResult, job_id: str, protection: str = "clear") -> dict:
    return {
        "engine": "nvflare",
        "job_id": job_id,
        "task": (result.setup or {}).get("task", "classification"),
        "secure_aggregation": protection == "secure aggregation",
        "protection": protection,
        "sites": result.sites,
        "dropouts": result.dropouts,
        "statistics": reported(result.statistics),
        "rounds": [asdict(h) for h in result.history],
        "defence_summary": _defence_summary(result),
        "site_evaluation": result.evaluation,
        "timing": result.timing,
        "error": result.error,
        "resumed": result.resumed,
    }


def _defence_summary(result: JobResult) -> dict | None:
    """Per site, what the coordinator's robust rule did over the job (None without one)."""
    decisions = [h.defence for h in result.history if h.defence]
    return defence_summary(decisions, result.sites) if decisions else None


def run_deployed(
    scenario: Scenario, data_dir: str | Path | None, result: JobResult, job_id: str
) -> Run:
    """Evaluate the deployed model (and train the scenario's other arms) on the scenario data."""
    federation = task_of(scenario).build_federation(scenario, data_dir)
    trained = trained_arms(result, scenario, federation)
    experiment = run_experiment(scenario, data_dir, federation=federation, trained=trained)
    protection = sum_protection(scenario)
    experiment.metrics["deployment"] = deployment_section(result, job_id, protection)
    experiment.timing["deployment_s"] = result.timing
    return experiment


def write_deployed_run(
    experiment: Run, out: Path, signer: Signer | None = None, *, force: bool = False
) -> Path:
    """``write_run`` plus the deployment section of ``report.md``; ``signer``: the submitting
    admin's kit key, so the bundle verifies against the project's root CA."""
    write_run(experiment, out, signer, force=force, writer=WRITER)
    report = Path(out) / "report.md"
    atomic.write_text(report, report.read_text() + "\n" + render(experiment.metrics["deployment"]))
    return Path(out)


def release_terms(
    scenario: Scenario, least: int | None = None, resumed: str | None = None
) -> ReleaseTerms:
    """What the admin's scenario requires of a release: every threshold at its target
    false-positive rate, signed evaluations from ``least`` sites (the job's ``--min-sites``
    as the admin gave it; by default every site of the job, so a coordinator cannot keep a
    refusing site's evaluation from the admin) and the setup's detection fields as the
    scenario sets them (its logs ``top_k``, a detector's error floor...); ``resumed``: the job
    the admin's ``--resume`` named ('' none; None: not checked)."""
    least = least or len(scenario.org_names())
    evaluation = scenario.evaluation
    return ReleaseTerms(
        evaluation.target_fpr,
        least,
        setup_terms(scenario),
        evaluation.release_min_detection,
        evaluation.release_min_family_detection,
        chain_terms(scenario, resumed),
    )


def write_site_only_run(
    scenario: Scenario,
    result: JobResult,
    job_id: str,
    out: Path,
    signer: Signer | None = None,
    *,
    force: bool = False,
    trust: bytes | None = None,
    release: str = "",
    least: int | None = None,
    resumed: str | None = None,
) -> Path:
    """A run directory from what the sites reported (no pooled data to evaluate on); the
    bundle is signed by ``signer`` (the submitting admin's kit key), only once every site's
    evaluation is checked signed by its kit under ``trust`` (the project's root CA, PEM), for
    this job's ``release`` nonce (and ``resumed``, the job its ``--resume`` named)."""
    sites = scenario.org_names()
    terms = release_terms(scenario, least, resumed)
    answered = require_attested(
        result, job_id, trust, sites, terms, signing=signer is not None, release=release
    )
    model = deployed_model(result, scenario)
    section = deployment_section(result, job_id, sum_protection(scenario))
    for site, reply in answered.items():  # a withheld or failed evaluation sets no threshold
        threshold = (reply.get("validation") or {}).get("threshold")
        if threshold is not None and isinstance(model, DeepLogDetector) and model.uses_top_k:
            model.top_k_[site] = int(threshold)
        elif threshold is not None:
            model.thresholds_[site] = float(threshold)
    metrics = {"scenario": scenario.name, "seed": scenario.seed, "deployment": section}
    shared = isinstance(model, FamilyClassifier | DeepLogDetector | TreeClassifier)
    arm = "federated" if shared else f"federated_{model.kind}"
    provenance = {
        "scenario": scenario.name,
        "arm": arm,
        "engine": "nvflare",
        "job_id": job_id,
        "seed": scenario.seed,
        "rounds": scenario.rounds,
        "organizations": sorted(answered),  # the sites that signed its evaluation
    }
    with outputs.output_directory(Path(out), WRITER, force=force) as staging:
        (staging / "config.toml").write_text(scenario.to_toml())
        atomic.write_json(staging / "metrics.json", metrics)
        text = f"# {scenario.name}: deployed job {job_id}\n\n" + render(section)
        (staging / "report.md").write_text(text)
        if isinstance(model, FamilyClassifier):
            save_bundle(staging / MODEL_DIR, model, provenance, signer)
        elif isinstance(model, TreeClassifier):
            save_tree_bundle(staging / MODEL_DIR, model, provenance, signer)
        elif isinstance(model, DeepLogDetector):
            names = log_namespaces(scenario)
            save_log_bundle(staging / MODEL_DIR, model, provenance, names, signer)
        else:
            save_anomaly_bundle(staging / MODEL_DIR, model, provenance, signer)
    return Path(out)

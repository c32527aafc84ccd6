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

from dataclasses import asdict
from pathlib import Path

from sklearn.base import clone

from fedsec.bundles.bundle import save_bundle
from fedsec.bundles.signing import Signer
from fedsec.core import atomic, outputs
from fedsec.engines.nvflare.records import JobResult
from fedsec.experiments.driver import run_experiment
from fedsec.experiments.rundir import MODEL_DIR, write_run
from fedsec.features.preprocess import Preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp import MLPSpec
from fedsec.reporting.report import fmt, table
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.base import Run
from fedsec.tasks.classification.arms import ArmModels, OrgFrames, pooled_val, val_macro_f1
from fedsec.tasks.classification.experiment import org_frames

WRITER = "fedsec job submit"


def deployed_model(result: JobResult, scenario: Scenario) -> FamilyClassifier:
    """The deployment's final global model as a classifier (thresholds to be calibrated)."""
    if result.params is None or result.setup is None:
        raise ValueError("the deployment produced no model")
    setup = result.setup
    return FamilyClassifier(
        MLPSpec.from_json(setup["architecture"]),
        Preprocessor.from_json(setup["preprocessing"]),
        list(setup["classes"]),
        setup["view"],
        decision=scenario.evaluation.decision,
    ).set_weights(result.params)


def deployed_arm(result: JobResult, scenario: Scenario, orgs: list[OrgFrames]) -> ArmModels:
    """The federated arm as the in-process evaluation expects it, trained by the deployment."""
    model = deployed_model(result, scenario)
    names = [o.name for o in orgs]
    encoded = dict.fromkeys(names, pooled_val(model.preprocessor, orgs))
    curve = []
    for round_, params in sorted(result.curve.items()):
        at_round = clone(model).set_weights(params)
        curve.append((round_, val_macro_f1(dict.fromkeys(names, at_round), orgs, encoded)))
    privacy = {
        site: reply.get("sample_dp", {})
        for site, reply in result.evaluation.items()
        if isinstance(reply, dict)
    }
    return ArmModels(
        "federated",
        dict.fromkeys(names, model),
        curve,
        float(result.timing.get("total_s", 0.0)),
        [h.seconds for h in result.history],
        privacy,
        [h.aggregation_seconds for h in result.history],
    )


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
        "secure_aggregation": protection == "secure aggregation",
        "protection": protection,
        "sites": result.sites,
        "dropouts": result.dropouts,
        "statistics": result.statistics,
        "rounds": [asdict(h) for h in result.history],
        "site_evaluation": result.evaluation,
        "timing": result.timing,
        "error": result.error,
        "resumed": result.resumed,
    }


def run_deployed(
    scenario: Scenario, data_dir: str | Path | None, result: JobResult, job_id: str
) -> Run:
    """Evaluate the deployed model (and train the scenario's other arms) on the scenario data."""
    federation = build_federation(scenario, data_dir)
    arm = deployed_arm(result, scenario, org_frames(federation))
    experiment = run_experiment(
        scenario, data_dir, federation=federation, trained={"federated": arm}
    )
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


def write_site_only_run(
    scenario: Scenario,
    result: JobResult,
    job_id: str,
    out: Path,
    signer: Signer | None = None,
    *,
    force: bool = False,
) -> Path:
    """A run directory from what the sites reported (no pooled data to evaluate on); the
    bundle is signed by ``signer`` (the submitting admin's kit key)."""
    model = deployed_model(result, scenario)
    section = deployment_section(result, job_id, sum_protection(scenario))
    for site, reply in result.evaluation.items():
        threshold = (reply.get("validation") or {}).get("threshold") if reply else None
        if threshold is not None:
            model.thresholds_[site] = float(threshold)
    metrics = {"scenario": scenario.name, "seed": scenario.seed, "deployment": section}
    provenance = {
        "scenario": scenario.name,
        "arm": "federated",
        "engine": "nvflare",
        "job_id": job_id,
        "seed": scenario.seed,
        "rounds": scenario.rounds,
        "organizations": result.sites,
    }
    with outputs.output_directory(Path(out), WRITER, force=force) as staging:
        (staging / "config.toml").write_text(scenario.to_toml())
        atomic.write_json(staging / "metrics.json", metrics)
        text = f"# {scenario.name}: deployed job {job_id}\n\n" + render(section)
        (staging / "report.md").write_text(text)
        save_bundle(staging / MODEL_DIR, model, provenance, signer)
    return Path(out)


def render(section: dict) -> str:
    """The report's deployment section: rounds, dropouts, refusals, each site's own view."""
    rounds = section["rounds"]
    seconds = sorted(r["seconds"] for r in rounds)
    median = seconds[len(seconds) // 2] if seconds else None
    lines = [
        "## Deployment (NVIDIA FLARE)",
        "",
        f"Job `{section['job_id']}` on {len(section['sites'])} sites "
        f"({', '.join(section['sites'])}), {len(rounds)} rounds, median round "
        f"{fmt(median)} s at the coordinator; " + _updates(section),
        "",
    ]
    if section.get("error"):
        lines += [f"**The job failed:** {section['error']}", ""]
    lines += _resumptions(section.get("resumed") or [])
    dropouts = section["dropouts"]
    lines += ["Dropouts: none." if not dropouts else "Dropouts (left for the rest of the job):"]
    lines += [f"- **{site}**: {why}" for site, why in dropouts.items()]
    events = [
        f"- round {r['round']}: {kind} by {site}: {why}"
        for r in rounds
        for kind in ("refused", "flagged")
        for site, why in r[kind].items()
    ]
    lines += [
        "",
        "Refusals and flags (sites' own words):" if events else "Refusals and flags: none.",
        *events,
    ]
    empty = [f"- round {r['round']}: {r['aborted']}" for r in rounds if r.get("aborted")]
    if empty:
        lines += ["", "Rounds that aggregated no update (the global model stayed):", *empty]
    lines += ["", "Each site on its own held-out rows (threshold at its benign validation FPR):"]
    rows = []
    for site, reply in section["site_evaluation"].items():
        if not isinstance(reply, dict) or "test" not in reply:
            rows.append([site, None, None, None, None, None, f"error: {reply.get('error')}"])
            continue
        v, t = reply["validation"], reply["test"]
        accepted = "accepted" if reply.get("accepted", True) else "refused"
        rows.append(
            [
                site,
                v["detection_rate"],
                t["detection_rate"],
                t["benign_fpr"],
                t["macro_f1"],
                t["threshold"],
                accepted,
            ]
        )
    header = ["site", "val detection", "test detection", "test FPR", "test macro-F1", "threshold"]
    lines += ["", table([*header, "final model"], rows), ""]
    lines += [_statistics(section.get("statistics") or {}), ""]
    return "\n".join(lines)


def _statistics(statistics: dict) -> str:
    """What the coordinator saw of the data, by how the statistics were gathered."""
    if not statistics.get("mode"):
        return "The job gathered no statistics: the coordinator saw no summary of any site's data."
    if statistics.get("mode") == "secure aggregation":
        seen = (
            f"only totals over {len(statistics['sites'])} sites ({statistics['rows']} rows: rows "
            "per family, per-feature counts and moments), each site's column names, its "
            "masked updates"
        )
    else:
        seen = (
            "each site's summaries (rows, rows per family, per-feature counts and moments), "
            "its updates (in clear unless protected)"
        )
    return f"The coordinator saw {seen} and these few metrics; never a row."


def _updates(section: dict) -> str:
    """How the updates reached the coordinator, counting only rounds that aggregated one."""
    protection = section.get("protection", "clear")
    rounds = section["rounds"]
    done = sum(bool(r["contributed"]) for r in rounds)
    if not done:
        return "no round aggregated an update."
    how = "in clear" if protection == "clear" else f"under {protection}"
    if done < len(rounds):
        return f"updates {how} in {done} of {len(rounds)} rounds."
    return f"updates {how}."


def _resumptions(resumed: list[dict]) -> list[str]:
    """What a resumed job's report must say: where it went on, and what restarted at sites."""
    if not resumed:
        return []
    steps = [f"job `{r['job']}` stopped with its coordinator; it went on from its checkpoint "
             f"after round {r['round']}" for r in resumed]  # fmt: skip
    last = resumed[-1]["round"]
    return [
        "Resumed: " + "; then ".join(steps) + ".",
        f"Sites start each job afresh: their acceptance gates and their sample-DP step counts "
        f"(the ε they report) cover the rounds after round {last} only.",
        "",
    ]

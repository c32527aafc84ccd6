"""A ``task = "logs"`` run's evaluation: the three arms of the DeepLog model and of the
count-vector baseline, calibration on normal validation sessions, per-org evaluation.

Every organization is judged on its own test sessions (normal sessions whose sequences nobody
trained on, plus anomalous sessions). ``top_k`` (DeepLog) and the SPE threshold (baseline) are
chosen per organization on its own normal validation sessions at ``evaluation.target_fpr``,
never on test data. Metrics: ``arms.<arm>.overall.{f1,precision,recall,fpr}`` and
``arms.<arm>.per_org.<org>``; the baseline's under ``baseline.arms``.
"""

from __future__ import annotations

import numpy as np

from fedsec.features.vocabulary import collisions, known_tokens
from fedsec.models.classifier import calibrate_threshold
from fedsec.models.deeplog import DeepLogDetector, calibrate_top_k
from fedsec.models.logcounts import CountPCA, count_stats, fit_count_pca
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.logs import LogFederation
from fedsec.tasks.logs.arms import LogArm, org_known
from fedsec.tasks.logs.metrics import pooled, session_metrics
from fedsec.tasks.privacy import privacy_section

ARM_ORDER = ("centralized", "local", "federated")


def calibrate(models: dict[str, DeepLogDetector], federation: LogFederation) -> dict[str, float]:
    """``top_k`` per organization on its own normal validation sessions (at most
    ``evaluation.target_fpr`` of them flagged, sessions with unseen events included), or the
    scenario's fixed ``top_k``. A shared model also gets ``'*'`` from the pooled validation
    scores (each org contributes a histogram of its sessions' scores), which every org uses
    when ``logs.calibration = "pooled"``. Returns each org's validation FPR."""
    logs, target = federation.scenario.logs, federation.scenario.evaluation.target_fpr
    scores = {o.name: models[o.name].decision_function(o.val.tokens) for o in federation.orgs}

    def choose(model: DeepLogDetector, values: np.ndarray) -> int:
        cap = min(logs.max_top_k or model.unseen_rank, model.unseen_rank)
        return logs.top_k or calibrate_top_k(values, target, cap)

    for org in federation.orgs:
        models[org.name].top_k_[org.name] = choose(models[org.name], scores[org.name])
    shared = {id(m) for m in models.values()}
    if len(shared) == 1:
        model = next(iter(models.values()))
        model.top_k_["*"] = choose(model, np.concatenate(list(scores.values())))
        if logs.calibration == "pooled":
            model.top_k_.update(dict.fromkeys(scores, model.top_k_["*"]))
    return {
        name: round(float(np.mean(values >= models[name].top_k_[name])), 6) if len(values) else None
        for name, values in scores.items()
    }


def evaluate_deeplog(arm: LogArm, federation: LogFederation, val_fpr: dict) -> dict:
    per_org = {}
    for org in federation.orgs:
        model = arm.models[org.name]
        flagged = model.predict(org.test.tokens, org.name)
        per_org[org.name] = {
            **session_metrics(org.test.tokens, org.test.labels, flagged),
            "top_k": model.top_k_[org.name],
            "val_fpr": val_fpr.get(org.name),
            "known_events": len(model.index),
        }
    return {"overall": pooled(list(per_org.values())), "per_org": per_org}


def baseline_models(federation: LogFederation) -> dict[str, dict]:
    """The count-vector PCA per arm: pooled (centralized), merged org sums (federated: the same
    numbers), each org alone (local)."""
    fed = federation.orgs
    variance = federation.scenario.logs.pca_variance
    known = {o.name: org_known(o) for o in fed}
    union = known_tokens(known.values())
    stats = [count_stats(o.train.tokens, union) for o in fed]
    merged = stats[0]
    for part in stats[1:]:
        merged = merged.merge(part)
    pooled_tokens = [t for o in fed for t in o.train.tokens]
    central = fit_count_pca(count_stats(pooled_tokens, union), union, variance)
    federated = fit_count_pca(merged, union, variance)
    local = {
        o.name: fit_count_pca(count_stats(o.train.tokens, known[o.name]), known[o.name], variance)
        for o in fed
    }
    arms = federation.scenario.evaluation.arms
    models = {
        "centralized": dict.fromkeys([o.name for o in fed], central),
        "local": local,
        "federated": dict.fromkeys([o.name for o in fed], federated),
    }
    return {arm: models[arm] for arm in ARM_ORDER if arm in arms}


def evaluate_baseline(models: dict[str, CountPCA], federation: LogFederation) -> dict:
    target = federation.scenario.evaluation.target_fpr
    per_org = {}
    for org in federation.orgs:
        model = models[org.name]
        scores = model.decision_function(org.val.tokens)
        finite = scores[np.isfinite(scores)]
        model.thresholds_[org.name] = calibrate_threshold(finite, target) if len(finite) else 0.0
        flagged = model.predict(org.test.tokens, org.name)
        per_org[org.name] = {
            **session_metrics(org.test.tokens, org.test.labels, flagged),
            "threshold": round(model.thresholds_[org.name], 6),
            "val_fpr": round(float(np.mean(scores > model.thresholds_[org.name])), 6)
            if len(scores)
            else None,
            "components": int(model.components_.shape[0]),
        }
    return {"overall": pooled(list(per_org.values())), "per_org": per_org}


def evaluate(scenario: Scenario, federation: LogFederation, arms: dict[str, LogArm]) -> dict:
    """Calibrate and evaluate every DeepLog arm, then the count baseline: the ``metrics.json``
    content, privacy section included."""
    results = {}
    for name in ARM_ORDER:
        if name in arms:
            val_fpr = calibrate(arms[name].models, federation)
            results[name] = evaluate_deeplog(arms[name], federation, val_fpr)
            results[name]["curve"] = [[r, loss] for r, loss in arms[name].curve]
    baseline = None
    if scenario.logs.baseline == "pca":
        baseline = {
            arm: evaluate_baseline(models, federation)
            for arm, models in baseline_models(federation).items()
        }
    metrics = _metrics(scenario, federation, results, baseline)
    metrics["privacy"] = privacy_section(scenario, arms)
    return metrics


def _metrics(
    scenario: Scenario,
    federation: LogFederation,
    results: dict,
    baseline: dict | None,
) -> dict:
    vocabulary = federation.vocabulary
    return {
        "scenario": scenario.name,
        "task": "logs",
        "seed": scenario.seed,
        "rounds": scenario.rounds,
        "strategy": scenario.strategy.name,
        "target_fpr": scenario.evaluation.target_fpr,
        "model": {"kind": "deeplog-lstm", **scenario.logs.model_dump(exclude={"sources"})},
        "federation": {
            "orgs": {
                org.name: {
                    "systems": sorted(set(org.train.systems) | set(org.test.systems)),
                    "sessions": org.sizes(),
                    "known_events": len(org_known(org)),
                }
                for org in federation.orgs
            },
            "vocabulary": {
                **vocabulary.to_json(),
                "key": "(not reported)",
                "event_texts": len(federation.event_texts),
                "colliding_texts": collisions(federation.event_texts, vocabulary),
            },
            "notes": federation.notes,
        },
        "arms": results,
        "baseline": {"model": "count-pca", "arms": baseline} if baseline else None,
    }

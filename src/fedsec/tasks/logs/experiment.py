"""A ``task = "logs"`` run's evaluation: the three arms of the DeepLog model and of the
count-vector baseline, calibration on normal validation sessions, per-org evaluation.

Every organization is judged on its own test sessions (normal sessions whose sequences nobody
trained on, plus anomalous sessions). ``top_k`` (DeepLog's ``max-rank`` score), the threshold of
a whole-sequence score, and the baseline's threshold are chosen per organization on its own
normal validation sessions at ``evaluation.target_fpr``, never on test data. Metrics:
``arms.<arm>.overall.{f1,precision,recall,fpr,roc_auc,pr_auc,label_recall}`` and
``arms.<arm>.per_org.<org>``; the baseline's (count PCA or n-gram) under ``baseline.arms``.
"""

from __future__ import annotations

import numpy as np

from fedsec.features.vocabulary import collisions, known_tokens
from fedsec.models.base import Detector, calibrate_threshold
from fedsec.models.deeplog import MAX_SURPRISE, DeepLogDetector
from fedsec.models.logcounts import count_stats, fit_count_pca
from fedsec.models.ngram import NgramCounts, NgramDetector, merge_counts
from fedsec.models.session_scores import surprise_histogram, threshold_of_histogram
from fedsec.reporting.session_metrics import (
    label_recall,
    pooled,
    pooled_label_recall,
    ranking,
    session_metrics,
)
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.logs import LogFederation
from fedsec.tasks.logs.arms import LogArm, org_known
from fedsec.tasks.privacy import privacy_section

ARM_ORDER = ("centralized", "local", "federated")
BASELINE_MODELS = {"pca": "count-pca", "ngram": "ngram"}


def calibrate(models: dict[str, DeepLogDetector], federation: LogFederation) -> dict[str, float]:
    """``top_k`` per organization on its own normal validation sessions (at most
    ``evaluation.target_fpr`` of them flagged, sessions with unseen events included), or the
    scenario's fixed ``top_k``. A shared model also gets ``'*'`` from the pooled validation
    scores (each org contributes a histogram of its sessions' scores; for ``max-surprise`` in
    :data:`~fedsec.models.session_scores.SURPRISE_BINS` bins), which every org uses when
    ``logs.calibration = "pooled"``. Returns each org's validation FPR."""
    logs, target = federation.scenario.logs, federation.scenario.evaluation.target_fpr
    scores = {o.name: models[o.name].decision_function(o.val.tokens) for o in federation.orgs}

    def choose(model: DeepLogDetector, values: np.ndarray) -> float:
        return model.calibrate_rule(values, target, logs.top_k, logs.max_top_k)

    def rule(model: DeepLogDetector) -> dict:
        return model.top_k_ if model.uses_top_k else model.thresholds_

    for org in federation.orgs:
        rule(models[org.name])[org.name] = choose(models[org.name], scores[org.name])
    shared = {id(m) for m in models.values()}
    if len(shared) == 1:
        model = next(iter(models.values()))
        pooled = np.concatenate(list(scores.values()))
        if model.score == MAX_SURPRISE:  # from the summed histograms, as a deployment does
            rule(model)["*"] = threshold_of_histogram(surprise_histogram(pooled), target)
        else:
            rule(model)["*"] = choose(model, pooled)
        if logs.calibration == "pooled":
            rule(model).update(dict.fromkeys(scores, rule(model)["*"]))
    return {
        name: round(float(np.mean(models[name].flag_scores(values, name))), 6)
        if len(values)
        else None
        for name, values in scores.items()
    }


def judged(org, scores: np.ndarray, flagged: np.ndarray) -> dict:
    """One organization's test metrics from its session scores and decisions."""
    test = org.test
    return {
        **session_metrics(test.tokens, test.labels, flagged),
        **ranking(test.labels, scores),
        "label_recall": label_recall(test.origins, test.labels, flagged),
    }


def overall(per_org: dict, federation: LogFederation, scores: dict) -> dict:
    """Pooled counts, ROC/PR-AUC over every organization's test scores, recall per kind."""
    labels = np.concatenate([o.test.labels for o in federation.orgs])
    values = np.concatenate([scores[o.name] for o in federation.orgs]).astype(np.float64)
    aucs = [m["roc_auc"] for m in per_org.values() if m.get("roc_auc") is not None]
    return {
        **pooled(list(per_org.values())),
        **ranking(labels, values),
        "mean_org_roc_auc": round(float(np.mean(aucs)), 6) if aucs else None,
        "label_recall": pooled_label_recall([m["label_recall"] for m in per_org.values()]),
    }


def evaluate_deeplog(arm: LogArm, federation: LogFederation, val_fpr: dict) -> dict:
    per_org, scores = {}, {}
    for org in federation.orgs:
        model = arm.models[org.name]
        scores[org.name] = model.decision_function(org.test.tokens)
        flagged = model.flag_scores(scores[org.name], org.name)
        rule = (
            {"top_k": model.top_k_[org.name]}
            if model.uses_top_k
            else {"threshold": round(model.thresholds_[org.name], 6)}
        )
        per_org[org.name] = {
            **judged(org, scores[org.name], flagged),
            **rule,
            "val_fpr": val_fpr.get(org.name),
            "known_events": len(model.index),
        }
    return {"overall": overall(per_org, federation, scores), "per_org": per_org}


def baseline_models(federation: LogFederation) -> dict[str, dict]:
    """The baseline per arm: pooled (centralized), merged org shares (federated: the same
    numbers), each org alone (local)."""
    if federation.scenario.logs.baseline == "ngram":
        return ngram_models(federation)
    return pca_models(federation)


def _by_arm(federation: LogFederation, central, federated, local: dict) -> dict[str, dict]:
    names = [o.name for o in federation.orgs]
    models = {
        "centralized": dict.fromkeys(names, central),
        "local": local,
        "federated": dict.fromkeys(names, federated),
    }
    arms = federation.scenario.evaluation.arms
    return {arm: models[arm] for arm in ARM_ORDER if arm in arms}


def ngram_models(federation: LogFederation) -> dict[str, dict]:
    """STIDE n-gram tables: pooled sessions (centralized), the sum of the organizations' counts
    (federated: exactly the pooled table), each organization's own (local)."""
    logs = federation.scenario.logs
    n, min_count = logs.ngram, logs.ngram_min_count
    shares = {o.name: NgramCounts.of(o.train.tokens, n) for o in federation.orgs}
    pooled_tokens = [t for o in federation.orgs for t in o.train.tokens]
    central = NgramDetector(n, min_count).fit_counts(NgramCounts.of(pooled_tokens, n))
    federated = NgramDetector(n, min_count).fit_counts(merge_counts(list(shares.values())))
    local = {name: NgramDetector(n, min_count).fit_counts(c) for name, c in shares.items()}
    return _by_arm(federation, central, federated, local)


def pca_models(federation: LogFederation) -> dict[str, dict]:
    """The count-vector PCA per arm."""
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
    return _by_arm(federation, central, federated, local)


def _size(model: Detector) -> dict:
    if isinstance(model, NgramDetector):
        return {"ngrams": len(model.grams_)}
    return {"components": int(model.components_.shape[0])}


def evaluate_baseline(models: dict[str, Detector], federation: LogFederation) -> dict:
    target = federation.scenario.evaluation.target_fpr
    per_org, test_scores = {}, {}
    for org in federation.orgs:
        model = models[org.name]
        scores = model.decision_function(org.val.tokens)
        finite = scores[np.isfinite(scores)]
        model.thresholds_[org.name] = calibrate_threshold(finite, target) if len(finite) else 0.0
        test_scores[org.name] = model.decision_function(org.test.tokens)
        flagged = test_scores[org.name] > model.thresholds_[org.name]
        per_org[org.name] = {
            **judged(org, test_scores[org.name], flagged),
            "threshold": round(model.thresholds_[org.name], 6),
            "val_fpr": round(float(np.mean(scores > model.thresholds_[org.name])), 6)
            if len(scores)
            else None,
            **_size(model),
        }
    return {"overall": overall(per_org, federation, test_scores), "per_org": per_org}


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
    if scenario.logs.baseline != "none":
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
        "baseline": {"model": BASELINE_MODELS[scenario.logs.baseline], "arms": baseline}
        if baseline
        else None,
    }

"""A classification run's evaluation: calibrate every arm, evaluate it per organization.

Each organization is judged on its own test set plus the *unseen* attacks: test attacks, from
every organization's test set, whose family is absent from that organization's training data
(what it would face if those campaigns reached it), with the benign traffic of the organizations
they come from. Overall metrics pool these per-org sets.
``local_recalibrated`` is the fair baseline: each local model with its threshold on the
malicious score set on its own benign validation data to the federated model's false-positive
rate there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsec.data.flows import concat_tables
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.models.base import calibrate_threshold
from fedsec.models.classifier import FamilyClassifier
from fedsec.reporting.ceiling import mean_of
from fedsec.reporting.metrics import classification_metrics, pooled_rate, unseen_metrics
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import Federation
from fedsec.tasks.classification.arms import ArmModels
from fedsec.tasks.classification.audit import audit_arms
from fedsec.tasks.classification.framing import Framing
from fedsec.tasks.classification.learner import OrgFrames
from fedsec.tasks.classification.robustness import robustness_section
from fedsec.tasks.flows import evaluation_rows, federation_block
from fedsec.tasks.privacy import (
    membership_audit,
    privacy_section,
)

ARM_ORDER = ("centralized", "local", "local_recalibrated", "federated")


def org_frames(federation: Federation) -> list[OrgFrames]:
    view = federation.view
    return [
        OrgFrames(
            o.name, o.train.features(view), o.val.features(view), o.train.family, o.val.family
        )
        for o in federation.orgs
    ]


def calibrate(models: dict[str, FamilyClassifier], federation: Federation, target: float) -> None:
    """Per-org thresholds at ``target`` FPR on each org's benign validation rows (+ pooled '*')."""
    view = federation.view
    pooled = []
    for org in federation.orgs:
        model = models[org.name]
        benign = org.val.take(np.flatnonzero(org.val.family == BENIGN))
        if len(benign) == 0:
            continue
        scores = model.decision_function(benign.features(view).frame)
        model.thresholds_[org.name] = calibrate_threshold(scores, target)
        pooled.append((model, scores))
    shared = {id(m) for m, _ in pooled}
    if len(shared) == 1 and pooled:
        model = pooled[0][0]
        model.thresholds_["*"] = calibrate_threshold(np.concatenate([s for _, s in pooled]), target)


def val_benign_fpr(model: FamilyClassifier, federation: Federation, org_index: int) -> float:
    org = federation.orgs[org_index]
    benign = org.val.take(np.flatnonzero(org.val.family == BENIGN))
    if len(benign) == 0:
        return 0.0
    pred = model.predict(benign.features(federation.view).frame, org.name)
    return float(np.mean(pred != BENIGN))


@dataclass
class ArmOutput:
    """Each organization's view of the whole test pool under one arm: predicted families,
    malicious scores, its threshold and the families its model trained on."""

    predictions: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    thresholds: dict[str, float | None]
    trained: dict[str, set[str]]


def evaluate_arm(
    output: ArmOutput,
    owner: np.ndarray,
    true: np.ndarray,
    federation: Federation,
    target_fpr: float,
) -> dict:
    """Per-org and overall metrics from each org's predictions on the whole test pool."""
    per_org, all_true, all_pred, unseen_parts, correct_parts = {}, [], [], [], []
    framing = Framing(target_fpr)
    for index, org in enumerate(federation.orgs):
        pred = output.predictions[org.name]
        rows = evaluation_rows(true, owner, index, org.train_families)
        own = owner == index
        unseen_families = set(family_order(true)) - org.train_families
        unseen = unseen_metrics(true, pred, unseen_families)
        data = (true, pred, output.scores[org.name], owner)
        per_org[org.name] = {
            **classification_metrics(true[rows], pred[rows]),
            **unseen,
            "own_test_macro_f1": classification_metrics(true[own], pred[own]).get("macro_f1"),
            "threshold": output.thresholds.get(org.name),
            "train_families": family_order(org.train_families),
            **framing.org(rows, data, index, unseen_families, output.trained[org.name]),
        }
        all_true.append(true[rows])
        all_pred.append(pred[rows])
        unseen_parts.append((unseen["unseen_family_recall"], unseen["unseen_rows"]))
        correct_parts.append((unseen["unseen_family_correct"], unseen["unseen_rows"]))
    overall = classification_metrics(np.concatenate(all_true), np.concatenate(all_pred))
    overall["unseen_family_recall"] = pooled_rate(unseen_parts)
    overall["unseen_family_correct"] = pooled_rate(correct_parts)
    overall["unseen_rows"] = int(sum(n for _, n in unseen_parts))
    overall["mean_org_macro_f1"] = mean_of(per_org, "macro_f1")
    overall.update(framing.overall(per_org))
    return {"overall": overall, "per_org": per_org}


def evaluate(scenario: Scenario, federation: Federation, arms: dict[str, ArmModels]) -> dict:
    """Calibrate every arm, evaluate it per organization (and ``local_recalibrated``): the
    ``metrics.json`` content, privacy section included."""
    for arm in arms.values():
        calibrate(arm.models, federation, scenario.evaluation.target_fpr)
    test = concat_tables([o.test for o in federation.orgs])
    owner = np.concatenate([np.full(len(o.test), i) for i, o in enumerate(federation.orgs)])
    test_frame = test.features(federation.view).frame
    target = scenario.evaluation.target_fpr
    results: dict[str, dict] = {}
    for name, arm in arms.items():
        results[name] = _evaluate_models(
            arm.models, federation, test_frame, owner, test.family, target
        )
        results[name]["curve"] = [[r, f1] for r, f1 in arm.curve]
    if "local" in arms and "federated" in arms:
        results["local_recalibrated"] = _recalibrated(
            arms, federation, test_frame, owner, test.family, target
        )
    metrics = _metrics(scenario, federation, results)
    robustness = robustness_section(
        scenario, arms, results, federation, (test_frame, owner, test.family)
    )
    if robustness is not None:  # only runs with an [adversary] or a [robustness] section
        metrics["robustness"] = robustness
    gate = arms["federated"].gate if "federated" in arms else None
    if gate is not None:  # only runs with a [gate] section: its verdicts and refusals
        metrics["gate"] = gate
    metrics["privacy"] = _privacy(scenario, federation, arms)
    return metrics


def _evaluate_models(
    models: dict[str, FamilyClassifier],
    federation: Federation,
    test_frame,
    owner: np.ndarray,
    true: np.ndarray,
    target_fpr: float,
) -> dict:
    cache: dict[int, np.ndarray] = {}
    output = ArmOutput({}, {}, {}, {})
    for org in federation.orgs:
        model = models[org.name]
        if id(model) not in cache:
            cache[id(model)] = model.predict_proba(test_frame)
        threshold = model.threshold_for(org.name)
        output.predictions[org.name] = model.labels_from_proba(cache[id(model)], threshold)
        output.scores[org.name] = model.malicious_score(cache[id(model)])
        output.thresholds[org.name] = threshold
        output.trained[org.name] = set(model.classes)
    return evaluate_arm(output, owner, true, federation, target_fpr)


def _recalibrated(
    arms: dict[str, ArmModels],
    federation: Federation,
    test_frame,
    owner: np.ndarray,
    true: np.ndarray,
    target_fpr: float,
) -> dict:
    output = ArmOutput({}, {}, {}, {})
    for index, org in enumerate(federation.orgs):
        fed_fpr = val_benign_fpr(arms["federated"].models[org.name], federation, index)
        local = arms["local"].models[org.name]
        benign = org.val.take(np.flatnonzero(org.val.family == BENIGN))
        scores = local.decision_function(benign.features(federation.view).frame)
        threshold = calibrate_threshold(scores, max(fed_fpr, 1e-9)) if len(scores) else 0.5
        proba = local.predict_proba(test_frame)
        output.predictions[org.name] = local.labels_from_proba(proba, threshold)
        output.scores[org.name] = local.malicious_score(proba)
        output.thresholds[org.name] = threshold
        output.trained[org.name] = set(local.classes)
    result = evaluate_arm(output, owner, true, federation, target_fpr)
    result["note"] = (
        "local models, threshold on the malicious score set on each org's benign "
        "validation rows to the federated model's false-positive rate there"
    )
    return result


def _privacy(scenario: Scenario, federation: Federation, arms: dict[str, ArmModels]) -> dict:
    audits = {}
    if scenario.privacy.audit:
        for name in ("centralized", "federated"):
            if name in arms:
                model = next(iter(arms[name].models.values()))
                audits[name] = membership_audit(model, federation, scenario.seed)
    section = privacy_section(scenario, arms, audits)
    if getattr(scenario, "audit", None) is not None:  # [audit]: the LiRA game, per arm
        section["lira_audit"] = audit_arms(scenario, org_frames(federation))
    return section


def _metrics(scenario: Scenario, federation: Federation, results: dict[str, dict]) -> dict:
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "view": scenario.data.view,
        "rounds": scenario.rounds,
        "strategy": scenario.strategy.name,
        "decision": scenario.evaluation.decision,
        "target_fpr": scenario.evaluation.target_fpr,
        "federation": federation_block(federation),
        "arms": {name: results[name] for name in ARM_ORDER if name in results},
    }

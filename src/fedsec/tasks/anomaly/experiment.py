"""An anomaly run's evaluation: thresholds from benign validation rows, per-org evaluation.

Each organization calibrates its threshold on its own benign validation rows at
``evaluation.target_fpr``; shared models (federated, centralized) also get one global threshold
(``"*"``) over every organization's benign validation scores, found from counts only. Each
organization is judged on the same rows as in the supervised runs: its own test rows, the other
organizations' test attacks of families absent from its own traffic, and the benign test rows of
the organizations those attacks come from. Overall metrics pool these per-org sets.
``own_roc_auc`` is the narrower view: each organization's model on its own test rows only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_curve

from fedsec.core import seeding
from fedsec.core.errors import ConfigError
from fedsec.data.flows import concat_tables
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.models.anomaly import federated_threshold
from fedsec.models.base import GLOBAL, calibrate_threshold
from fedsec.reporting.metrics import detection_metrics, flag_rates, score_metrics
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import Federation
from fedsec.tasks.anomaly.arms import (
    AnomalyArm,
    OrgBenign,
)
from fedsec.tasks.flows import evaluation_rows, federation_block
from fedsec.tasks.privacy import privacy_section

PLOT_SAMPLE = 4000  # score samples per class kept for the histograms


@dataclass
class Scored:
    """One org's evaluation rows under one arm: truth, labels, scores, thresholds."""

    true: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    own_benign: np.ndarray  # the org's own held-out benign rows (what calibration targets)
    org_threshold: float
    global_threshold: float | None


def calibrate(arm: AnomalyArm, orgs: list[OrgBenign], target: float) -> dict[str, float]:
    """Per-org thresholds at ``target`` FPR on each org's benign validation rows, plus the
    global one for shared models; returns each org's realized validation FPR. An org without
    validation rows (every held-out row repeated a training vector: the run's notes) gets none
    and is judged only where it has rows to judge (:func:`evaluate_arm`)."""
    val_scores, val_fpr = [], {}
    for org in orgs:
        if len(org.val) == 0:
            continue
        model = arm.models[org.name]
        scores = model.decision_function(org.val.frame)
        model.thresholds_[org.name] = calibrate_threshold(scores, target)
        val_fpr[org.name] = float(np.mean(scores > model.thresholds_[org.name]))
        val_scores.append(scores)
    if arm.shared:
        model = arm.models[orgs[0].name]
        model.thresholds_[GLOBAL] = federated_threshold(val_scores, target)
    return val_fpr


def _rate(values: list[float | None]) -> float | None:
    valid = [v for v in values if v is not None]
    return round(float(np.mean(valid)), 6) if valid else None


def _point(scored: Scored, flagged: np.ndarray) -> dict:
    """Detection, realized FPR on the evaluation set and on the org's own held-out benign rows."""
    own = flagged[scored.own_benign]
    return {
        **detection_metrics(scored.true, flagged),
        "own_benign_fpr": round(float(own.mean()), 6) if len(own) else None,
    }


def _block(scored: Scored, mode: str) -> dict:
    """Metrics of one evaluation set: scores, both operating points, the chosen one on top."""
    points: dict[str, dict | None] = {"per-org": None, "global": None}
    for which, threshold in (
        ("per-org", scored.org_threshold),
        ("global", scored.global_threshold),
    ):
        if threshold is not None:
            points[which] = {
                "threshold": round(float(threshold), 6),
                **_point(scored, scored.scores > threshold),
            }
    return {
        "rows": len(scored.true),
        "attacks": int((scored.true != BENIGN).sum()),
        **score_metrics(scored.true, scored.scores),
        **(points[mode] or points["per-org"]),
        "thresholds": points,
    }


def _pool(parts: list[Scored]) -> Scored:
    return Scored(
        np.concatenate([p.true for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.scores for p in parts]),
        np.concatenate([p.own_benign for p in parts]),
        float("nan"),
        None,
    )


def _pooled_flags(parts: list[Scored], which: str) -> np.ndarray | None:
    """Flags over the pooled sets, each org at its own threshold of kind ``which``."""
    chosen = [p.org_threshold if which == "per-org" else p.global_threshold for p in parts]
    if any(t is None for t in chosen):
        return None
    return np.concatenate([p.scores > t for p, t in zip(parts, chosen, strict=True)])


def _overall(parts: list[Scored], per_org: dict, mode: str) -> dict:
    pooled = _pool(parts)
    flags = {which: _pooled_flags(parts, which) for which in ("per-org", "global")}
    points = {w: None if f is None else _point(pooled, f) for w, f in flags.items()}
    flagged = flags[mode] if flags[mode] is not None else flags["per-org"]
    attacks = pooled.true != BENIGN
    orgs = [m for m in per_org.values() if m["thresholds"]["per-org"] is not None]  # judged
    return {
        "rows": len(pooled.true),
        "attacks": int(attacks.sum()),
        **score_metrics(pooled.true, pooled.scores),
        "mean_org_roc_auc": _rate([m["roc_auc"] for m in orgs]),
        "mean_org_pr_auc": _rate([m["pr_auc"] for m in orgs]),
        "mean_org_own_roc_auc": _rate([m["own_roc_auc"] for m in orgs]),
        **(points[mode] or points["per-org"]),
        "mean_org_detection_rate": _rate([m["detection_rate"] for m in orgs]),
        "mean_org_benign_fpr": _rate([m["benign_fpr"] for m in orgs]),
        "mean_org_own_benign_fpr": _rate([m["own_benign_fpr"] for m in orgs]),
        "per_label_detection": flag_rates(pooled.labels[attacks].astype(str), flagged[attacks]),
        "thresholds": points,
    }


def evaluate_arm(
    arm: AnomalyArm, federation: Federation, test, owner: np.ndarray, val_fpr: dict, mode: str
) -> tuple[dict, Scored]:
    """Per-org and overall metrics of one arm; also the pooled scores (for the plots)."""
    frame = test.features(federation.view).frame
    cache: dict[int, np.ndarray] = {}
    per_org, parts = {}, []
    for index, org in enumerate(federation.orgs):
        model = arm.models[org.name]
        if id(model) not in cache:
            cache[id(model)] = model.decision_function(frame)
        rows = evaluation_rows(test.family, owner, index, org.train_families)
        if org.name not in val_fpr:
            per_org[org.name] = _unjudged(org.name, int(rows.sum())) | _code(arm, org.name)
            continue
        own_benign = ((owner == index) & (test.family == BENIGN))[rows]
        scored = Scored(
            test.family[rows],
            test.label[rows],
            cache[id(model)][rows],
            own_benign,
            model.thresholds_[org.name],
            model.thresholds_.get(GLOBAL),
        )
        own = owner == index
        own_scores = score_metrics(test.family[own], cache[id(model)][own])
        per_org[org.name] = {
            **_block(scored, mode),
            "own_roc_auc": own_scores["roc_auc"],
            "own_pr_auc": own_scores["pr_auc"],
            "val_fpr": round(val_fpr[org.name], 6),
            **_code(arm, org.name),
        }
        parts.append(scored)
    result = {"overall": _overall(parts, per_org, mode), "per_org": per_org}
    if arm.curve:
        result["loss_curve"] = [[r, loss] for r, loss in arm.curve]
    return result, _pool(parts)


def _code(arm: AnomalyArm, org: str) -> dict:
    """An autoencoder's input width at ``org`` and the code it was built with: narrower than
    ``anomaly.bottleneck`` where a local model's own data is narrower (``code_size``)."""
    if arm.model != "ae":
        return {}
    spec = arm.models[org].spec
    return {"inputs": spec.inputs, "bottleneck": spec.bottleneck}


def _unjudged(org: str, rows: int) -> dict:
    """The entry of an org without a threshold: allowed only when it has no rows to judge."""
    if rows:
        raise ConfigError(
            f"organization {org!r} has no benign validation rows to calibrate a threshold "
            "(raise data.max_rows or split.val_size)"
        )
    return {"rows": 0, "attacks": 0, "thresholds": {"per-org": None, "global": None}}


def zero_day(federation: Federation) -> dict:
    """Attack families and dataset labels that occur in no organization's training split."""
    held = [t for org in federation.orgs for t in (org.train, org.val)]
    train_families = {f for t in held for f in t.family}
    train_labels = {str(label) for t in held for label in t.label}
    test = concat_tables([o.test for o in federation.orgs])
    attacks = test.family != BENIGN
    labels = {}
    for label in sorted({str(x) for x in test.label[attacks]} - train_labels):
        labels[label] = int(np.sum(attacks & (test.label.astype(str) == label)))
    return {
        "families": [f for f in family_order(test.family[attacks]) if f not in train_families],
        "labels": labels,
        "note": (
            "In the anomaly setting no organization has labels for any attack family; these "
            "families/labels do not even occur (unlabelled) in any organization's training split."
        ),
    }


def plot_sample(pooled: Scored, seed: int, arm: str) -> dict:
    """ROC curve points and a seeded sample of benign/attack scores for the plots."""
    attack = pooled.true != BENIGN
    fpr, tpr, _ = (
        roc_curve(attack, pooled.scores) if 0 < attack.sum() < len(attack) else ([], [], 0)
    )
    keep = (
        np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 400)).astype(int)) if len(fpr) else []
    )
    rng = seeding.rng(seed, "plot", arm)
    sample = {}
    for name, mask in (("benign", ~attack), ("attack", attack)):
        values = pooled.scores[mask]
        if len(values) > PLOT_SAMPLE:
            values = values[rng.choice(len(values), PLOT_SAMPLE, replace=False)]
        sample[name] = values
    return {"fpr": np.asarray(fpr)[keep], "tpr": np.asarray(tpr)[keep], **sample}


def evaluate(
    scenario: Scenario, federation: Federation, orgs: list[OrgBenign], arms: dict[str, AnomalyArm]
) -> tuple[dict, dict]:
    """Calibrate every arm on benign validation rows, evaluate it per organization: the
    ``metrics.json`` content (privacy section included) and each arm's plot data."""
    val_fpr = {n: calibrate(a, orgs, scenario.evaluation.target_fpr) for n, a in arms.items()}
    test = concat_tables([o.test for o in federation.orgs])
    owner = np.concatenate([np.full(len(o.test), i) for i, o in enumerate(federation.orgs)])
    results, plot_data = {}, {}
    for name, arm in arms.items():
        results[name], pooled = evaluate_arm(
            arm, federation, test, owner, val_fpr[name], scenario.anomaly.threshold
        )
        plot_data[name] = plot_sample(pooled, scenario.seed, name)
    metrics = _metrics(scenario, federation, results)
    deep = {name: arm for name, arm in arms.items() if arm.model != "iforest"}
    metrics["privacy"] = privacy_section(scenario, deep)
    return metrics, plot_data


def _metrics(scenario: Scenario, federation: Federation, results: dict[str, dict]) -> dict:
    cfg = scenario.anomaly
    return {
        "scenario": scenario.name,
        "task": "anomaly",
        "seed": scenario.seed,
        "view": scenario.data.view,
        "rounds": scenario.rounds,
        "strategy": scenario.strategy.name,
        "models": list(cfg.models) + (["iforest"] if cfg.iforest else []),
        "target_fpr": scenario.evaluation.target_fpr,
        "threshold_mode": cfg.threshold,
        **({"bottleneck": cfg.bottleneck} if "ae" in cfg.models else {}),
        "federation": federation_block(federation),
        "zero_day": zero_day(federation),
        "arms": results,
    }

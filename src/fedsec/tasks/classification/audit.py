"""The LiRA membership audit of a classification run's arms (``[audit]``).

For every audited arm, ``shadows + 1`` models are trained by the arm's own trainer (same model,
training plan, strategy and record-level DP as the run, ``audit.rounds`` rounds) on random halves
of an audit pool: ``audit.rows`` training rows of each organization (distinct feature vectors)
plus ``audit.canaries`` canaries, rows given a wrong family of that organization. Each model
trains on a random half of every organization's pool, independently of the other models. Each
model is then the target of the others (LiRA, online and offline), and the canaries' exposure
is measured; the statistics live in :mod:`fedsec.fl.privacy.audit`.

An attack that wins this game on a model trained without DP shows the audit can see a leak; the
same game with DP on must stay at chance (its ``epsilon_lower_bound`` below the accountant's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fedsec.core import seeding
from fedsec.data.flows import FeatureFrame
from fedsec.fl.privacy import audit as stats
from fedsec.models.classifier import FamilyClassifier
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.sections import AuditConfig
from fedsec.tasks.classification.arms import TRAINERS
from fedsec.tasks.classification.learner import OrgFrames
from fedsec.training.local import predict_logits

VAL_ROWS = 200  # validation rows each audit model keeps (its learning curve and gate only)


@dataclass
class AuditPool:
    """One organization's audit records, which of them are canaries, and who trains on what."""

    org: OrgFrames
    frame: FeatureFrame
    labels: np.ndarray
    canary: np.ndarray
    inside: np.ndarray  # (models, records): True where that model trains on that record

    def member_frames(self, model: int) -> OrgFrames:
        keep = self.inside[model]
        val = self.org.val.frame.iloc[:VAL_ROWS]
        return OrgFrames(
            self.org.name,
            _rows(self.frame, keep),
            FeatureFrame(
                val.reset_index(drop=True), self.org.val.numeric, self.org.val.categorical
            ),
            self.labels[keep],
            self.org.y_val[:VAL_ROWS],
        )


def audit_pools(config: AuditConfig, orgs: list[OrgFrames], seed: int) -> list[AuditPool]:
    """Every organization's pool: distinct rows, canaries, an independent half per model."""
    return [_pool(config, org, seeding.rng(seed, "audit-pool", org.name)) for org in orgs]


def _pool(config: AuditConfig, org: OrgFrames, rng: np.random.Generator) -> AuditPool:
    distinct = np.flatnonzero(~org.train.frame.duplicated(keep=False).to_numpy())
    order = rng.permutation(distinct)
    rows = order[: config.rows]
    families = np.unique(np.asarray(org.y_train, dtype=object).astype(str))
    spare = order[config.rows : config.rows + config.canaries] if len(families) > 1 else order[:0]
    labels = np.asarray(org.y_train, dtype=object)
    canary_labels = [rng.choice(families[families != labels[i]]) for i in spare]
    chosen = np.r_[rows, spare]
    # each model an independent half of the pool: not each record in exactly half of the models,
    # where a target's membership would change how many "in" shadows the record has (a bias of
    # the likelihood ratio with few shadows); equal sizes let the DP calibration be reused
    inside = np.argsort(rng.random((config.shadows + 1, len(chosen))), axis=1) < len(chosen) // 2
    return AuditPool(
        org,
        _rows(org.train, chosen),
        np.r_[labels[rows], np.asarray(canary_labels, dtype=object)].astype(object),
        np.r_[np.zeros(len(rows), bool), np.ones(len(spare), bool)],
        inside,
    )


def _rows(frame: FeatureFrame, rows: np.ndarray) -> FeatureFrame:
    picked = frame.frame.iloc[rows] if rows.dtype != bool else frame.frame[rows]
    return FeatureFrame(picked.reset_index(drop=True), frame.numeric, frame.categorical)


def audit_arms(scenario: Scenario, orgs: list[OrgFrames]) -> dict[str, dict]:
    """The ``privacy.lira_audit`` entry of metrics.json: one result per audited arm."""
    config = scenario.audit
    seed = scenario.seed if config.seed is None else config.seed
    pools = audit_pools(config, orgs, seed)
    return {arm: audit_arm(scenario, pools, arm, seed) for arm in config.arms}


def audit_arm(scenario: Scenario, pools: list[AuditPool], arm: str, seed: int) -> dict:
    """Train the arm's audit models, attack each with the others, report the attacks."""
    started = time.perf_counter()
    config = scenario.audit
    rounds = config.rounds or scenario.rounds
    phi, right, spent = [], [], {}
    for model in range(config.shadows + 1):
        trained = TRAINERS[arm](
            _model_scenario(scenario, rounds, seeding.derive_seed(seed, "audit", arm, model)),
            [pool.member_frames(model) for pool in pools],
            lambda _arm: None,
        )
        scored = [_score(trained.models[p.org.name], p) for p in pools]
        phi.append(np.concatenate([s[0] for s in scored]))
        right.append(np.concatenate([s[1] for s in scored]))
        spent = trained.privacy
    inside = np.concatenate([p.inside for p in pools], axis=1)
    canary = np.concatenate([p.canary for p in pools])
    population = np.broadcast_to(~canary, inside.shape)
    return {
        "models": config.shadows + 1,
        "rounds": rounds,
        "records": int((~canary).sum()),
        "canaries": int(canary.sum()),
        "accuracy": {
            "members": round(float(np.asarray(right)[inside & population].mean()), 4),
            "non_members": round(float(np.asarray(right)[~inside & population].mean()), 4),
        },
        **_attacks(np.asarray(phi), inside, canary),
        "dp": spent,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _model_scenario(scenario: Scenario, rounds: int, seed: int) -> Scenario:
    evaluation = scenario.evaluation.model_copy(update={"curve_points": 1})
    return scenario.model_copy(
        update={"rounds": rounds, "seed": seed, "evaluation": evaluation, "audit": None}
    )


def _score(model: FamilyClassifier, pool: AuditPool) -> tuple[np.ndarray, np.ndarray]:
    """Each record's logit-scaled confidence in its label, and whether arg-max predicts it."""
    index = {c: i for i, c in enumerate(model.classes)}
    labels = np.asarray([index.get(str(f), -1) for f in pool.labels], dtype=np.int64)
    logits = predict_logits(model.module(), model.encode(pool.frame.frame))
    return stats.logit_confidence(logits, labels), logits.argmax(axis=1) == labels


def _attacks(phi: np.ndarray, inside: np.ndarray, canary: np.ndarray) -> dict:
    scores = stats.lira_scores(phi, inside)
    result: dict = {}
    for name, records in (("population", ~canary), ("canary", canary)):
        if not records.any():
            continue
        member, chosen = inside[:, records], {**scores, "confidence": phi}
        result[name] = {
            attack: stats.attack_metrics(values[:, records][member], values[:, records][~member])
            for attack, values in chosen.items()
        }
    if canary.any():
        result["canary"]["exposure"] = stats.exposure(
            scores["online"][:, canary], inside[:, canary]
        )
    return result

"""The privacy section of a run: mechanisms, epsilons, what the coordinator can observe, and a
membership-inference audit of the released model.

The audit asks how well an attacker holding the model tells training records (members) from
records of the same population it never saw (non-members, the test split; duplicate feature
vectors never straddle the two). Two attacks: the loss threshold (Yeom et al., 2018) and a
class-calibrated loss (each record's loss standardized by the loss distribution of its family on
reference non-members, the population data an attacker is assumed to have).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from fedsec.core import seeding
from fedsec.core.errors import ConfigError
from fedsec.data.flows import concat_tables
from fedsec.fl.privacy import dp, he, neighbours
from fedsec.fl.privacy.secagg import default_threshold
from fedsec.fl.strategies import strategy_class
from fedsec.models.classifier import FamilyClassifier
from fedsec.scenarios.config import PrivacyConfig, Scenario
from fedsec.scenarios.federation import Federation
from fedsec.tasks.client_dp import client_dp_section, worst_releases

AUDIT_ROWS = 5000


def record_losses(model: FamilyClassifier, frame, families: np.ndarray) -> np.ndarray:
    """Cross-entropy of each record's true family (NaN where the model lacks that family)."""
    proba = model.predict_proba(frame)
    index = {c: i for i, c in enumerate(model.classes)}
    losses = np.full(len(families), np.nan)
    for row, family in enumerate(families):
        if family in index:
            losses[row] = -np.log(max(float(proba[row, index[family]]), 1e-12))
    return losses


def attack_strength(member_scores: np.ndarray, other_scores: np.ndarray) -> dict:
    """AUC and advantage (max TPR - FPR) of scores that should be higher for members."""
    truth = np.r_[np.ones(len(member_scores)), np.zeros(len(other_scores))]
    scores = np.r_[member_scores, other_scores]
    fpr, tpr, _ = roc_curve(truth, scores)
    return {
        "auc": round(float(roc_auc_score(truth, scores)), 4),
        "advantage": round(float(np.max(tpr - fpr)), 4),
    }


def membership_audit(model: FamilyClassifier, federation: Federation, seed: int) -> dict:
    """Both attacks on balanced member / non-member samples."""
    view = federation.view
    rng = seeding.rng(seed, "membership-audit")
    members = concat_tables([o.train for o in federation.orgs])
    others = concat_tables([o.test for o in federation.orgs])
    other_rows = rng.permutation(len(others))
    reference, held = other_rows[: len(other_rows) // 2], other_rows[len(other_rows) // 2 :]
    n = min(AUDIT_ROWS, len(members), len(held))
    member_rows = rng.choice(len(members), size=n, replace=False)
    held = held[:n]
    m_loss = record_losses(
        model, members.take(member_rows).features(view).frame, members.family[member_rows]
    )
    o_loss = record_losses(model, others.take(held).features(view).frame, others.family[held])
    r_fam = others.family[reference[:AUDIT_ROWS]]
    r_loss = record_losses(model, others.take(reference[:AUDIT_ROWS]).features(view).frame, r_fam)
    m_ok, o_ok = np.isfinite(m_loss), np.isfinite(o_loss)
    calibrate = _calibrator(r_fam, r_loss)
    return {
        "members": int(m_ok.sum()),
        "non_members": int(o_ok.sum()),
        "loss_threshold": attack_strength(-m_loss[m_ok], -o_loss[o_ok]),
        "class_calibrated": attack_strength(
            -calibrate(members.family[member_rows][m_ok], m_loss[m_ok]),
            -calibrate(others.family[held][o_ok], o_loss[o_ok]),
        ),
    }


def _calibrator(families: np.ndarray, losses: np.ndarray):
    ok = np.isfinite(losses)
    stats = {}
    for family in np.unique(families[ok]):
        values = losses[ok & (families == family)]
        stats[family] = (float(values.mean()), float(values.std()) + 1e-6)
    overall = (float(losses[ok].mean()), float(losses[ok].std()) + 1e-6) if ok.any() else (0, 1)

    def standardize(fams: np.ndarray, values: np.ndarray) -> np.ndarray:
        centre = np.array([stats.get(f, overall)[0] for f in fams])
        scale = np.array([stats.get(f, overall)[1] for f in fams])
        return (values - centre) / scale

    return standardize


def coordinator_view(scenario: Scenario) -> list[str]:
    p = scenario.privacy
    hidden = p.secure_aggregation or p.homomorphic_encryption
    seen = [
        "the training plan it sends and the number of rounds",
        "which organizations take part in each round",
    ]
    if p.secure_aggregation:
        seen.append(
            "masked updates only (each uniformly random on its own) and their sum: "
            "never one organization's update or row count"
        )
    elif p.homomorphic_encryption:
        seen.append(
            "CKKS ciphertexts it can add but not decrypt, and the decrypted sum the "
            "organizations return: never one organization's update or row count, as long as "
            "it follows the protocol (see docs/privacy.md for an actively malicious one)"
        )
    else:
        seen.append("every organization's full model update and row count, in clear")
    if strategy_class(scenario.strategy.name).sends_extras:
        seen.append(
            "SCAFFOLD's control-variate changes (full local gradients) only inside the same "
            "protected sum as the updates"
            if p.secure_aggregation or p.homomorphic_encryption
            else "every organization's SCAFFOLD control-variate change (its full local "
            "gradient), in clear"
        )
    if p.client_dp.enabled:
        seen.append(
            "updates clipped and noised by the organizations before they leave them"
            + ("" if hidden else ", each carrying only its own share of the noise")
        )
    if scenario.task == "logs":
        seen.append(
            "the keyed-hash token ids of the events each organization saw (never template "
            "text) and session counts; never log lines"
        )
    elif p.secure_aggregation:
        seen.append(
            "the column names of each organization and, as two secure sums, only totals over "
            "all of them (rows, rows per family, per-feature counts, means and centered moments) "
            "to fit preprocessing; never one organization's statistics, never rows"
        )
    else:
        seen.append(
            "each organization's rows per family and per-feature summaries (counts, means, "
            "centered moments) used to fit preprocessing; never rows"
        )
    return seen


def check_accounting(scenario: Scenario) -> None:
    """Refuse, before any training, privacy settings the accountant would find void."""
    c = scenario.privacy.client_dp
    if not c.enabled:
        return
    try:  # the worst case: every round of every arm with client-level noise
        dp.check_client_dp(c.noise_multiplier, worst_releases(scenario), c.delta)
    except ValueError as error:
        raise ConfigError(f"privacy.client_dp.noise_multiplier: {error}") from None
    if c.min_reporting is not None and c.min_reporting > scenario.smallest_round():
        raise ConfigError(
            f"privacy.client_dp.min_reporting: {c.min_reporting} organizations, but a round "
            f"selects as few as {scenario.smallest_round()}: no round could ever be released"
        )


def statistics_coverage(share: float) -> dict:
    """Whether the record-level ε covers the preprocessing statistics (``sample_dp``'s
    ``stats_epsilon_share``); what it leaves out is in :func:`not_covered`."""
    if not share:
        return {"covered": False}
    return {
        "covered": True,
        "epsilon_share": share,
        "mechanism": "per-organization histograms of every numeric column and rows per "
        "family, one bounded contribution per record, Gaussian noise from each organization's "
        "own source; epsilon per organization is the RDP composition with DP-SGD",
    }


def not_covered(scenario: Scenario) -> list[str]:
    """What the run releases from organizations' rows that no reported ε charges: the one list
    every ε report carries (metrics.json ``privacy.not_covered_by_epsilon``, report.md)."""
    p = scenario.privacy
    items = [
        "each organization's exact training row count (every update is weighted by it, the "
        "DP-SGD rate is batch / rows; under secure aggregation or encryption only their sum): "
        "epsilon is for add/remove neighbours (one record, or one organization for "
        "organization-level DP), which these counts tell apart"
    ]
    if scenario.task == "logs":
        items.append("the hashed event tokens each organization saw and its session counts")
    elif not (p.sample_dp.enabled and p.sample_dp.stats_epsilon_share):
        weights = " and class weights" if scenario.task == "classification" else ""
        items.append(f"preprocessing statistics{weights}, computed without noise")
    if scenario.task == "anomaly":
        items += _detector_statistics(scenario.anomaly.models)
    items.append("decision thresholds calibrated on each organization's validation rows")
    if scenario.gate is not None:
        items.append("the acceptance gate's verdicts, computed on validation rows")
    items.append(
        "evaluation metrics and membership-inference audits (computed on training, validation "
        "and test rows)"
    )
    return items + (_client_level(scenario) if p.client_dp.enabled else [])


def _client_level(scenario: Scenario) -> list[str]:
    """What organization-level ε leaves out beyond the list every ε shares."""
    items = ["which rounds each organization takes part in (the coordinator selects and sees it)"]
    sample = scenario.privacy.sample_dp
    if scenario.task != "logs" and sample.enabled and sample.stats_epsilon_share:
        items.append(
            "preprocessing statistics for organization-level ε (their noise is charged to "
            "record-level ε only)"
        )
    return items


def _detector_statistics(models: list[str]) -> list[str]:
    """The anomaly detectors' exact statistics of training rows, held in the released model."""
    held = {
        "svdd": "the Deep SVDD centre: the exact mean embedding of the training rows",
        "ae": "the autoencoder's error scale: from exact error sums over the training rows",
    }
    return [f"{held[m]}, held in the released model" for m in models if m in held]


def privacy_section(scenario: Scenario, arms: dict, audits: dict[str, dict] | None = None) -> dict:
    """The ``privacy`` entry of metrics.json."""
    p = scenario.privacy
    section: dict = {
        "secure_aggregation": {"enabled": p.secure_aggregation},
        "homomorphic_encryption": {"enabled": p.homomorphic_encryption},
        "sample_dp": {"enabled": p.sample_dp.enabled},
        "client_dp": {"enabled": p.client_dp.enabled},
        "coordinator_observes": coordinator_view(scenario),
        "membership_inference": audits or {},
    }
    if p.sample_dp.enabled or p.client_dp.enabled:
        section["not_covered_by_epsilon"] = not_covered(scenario)
    if p.secure_aggregation:
        per_round = scenario.smallest_round()
        threshold = max(default_threshold(per_round), p.secagg_threshold or 0)
        section["secure_aggregation"].update(
            organizations_per_round=per_round,
            threshold=threshold,
            tolerated_dropouts=per_round - threshold,
            scheme="pairwise X25519/HKDF-SHA256/AES-CTR masks mod 2^32, fixed point 2^-16, "
            "Shamir-shared seeds, AES-GCM sealed shares, Ed25519-signed consistency check",
        )
    if p.homomorphic_encryption:
        section["homomorphic_encryption"].update(
            scheme=he.SCHEME,
            keys="one secret key shared by the organizations; the coordinator holds a context "
            "without secret or public key (adds ciphertexts, cannot decrypt or encrypt)",
        )
    if p.sample_dp.enabled:
        section["sample_dp"].update(
            target_epsilon=p.sample_dp.epsilon,
            delta=p.sample_dp.delta,
            neighbouring_relation=neighbours.ADD_REMOVE,
            max_grad_norm=p.sample_dp.max_grad_norm,
            statistics=statistics_coverage(p.sample_dp.stats_epsilon_share),
            clipping=p.sample_dp.clipping,
            class_sampling=p.sample_dp.class_sampling,
            noise_shares=p.sample_dp.noise_shares if p.sample_dp.distributed else None,
            per_arm={name: arm.privacy for name, arm in arms.items()},
        )
    if p.client_dp.enabled:
        section["client_dp"].update(client_dp_section(scenario, arms))
    return section


def protection_timing(privacy: PrivacyConfig, seconds: list[float]) -> dict[str, float]:
    """Time spent protecting sums: ``<mechanism>_s`` in total and ``<mechanism>_round_s``."""
    if privacy.secure_aggregation:
        mechanism = "secure_aggregation"
    elif privacy.homomorphic_encryption:
        mechanism = "homomorphic_encryption"
    else:
        return {}
    if not seconds:
        return {}
    return {
        f"{mechanism}_s": round(float(sum(seconds)), 3),
        f"{mechanism}_round_s": round(float(np.mean(seconds)), 4),
    }

"""Membership-inference auditing statistics: LiRA and canary exposure (no training here).

The audit game (Carlini et al., "Membership Inference Attacks From First Principles", S&P 2022):
``M`` models are trained by the same recipe, each on a random half of an audit pool, so every
record is a member of half of them. Each model in turn is the target; the others are its
shadows. A record's statistic is its logit-scaled confidence ``phi = log p / (1 - p)`` in its
true label. The online attack fits a Gaussian to ``phi`` over the shadows that trained on the
record and one over those that did not, and scores the target by the likelihood ratio; the
offline attack uses the "out" Gaussian alone. With few shadows the variances are pooled over
records (the paper's fixed-variance variant).

Canaries (Carlini et al., "The Secret Sharer", 2019) are inserted records of known membership;
the exposure of an inserted canary is ``log2(n + 1) - log2(rank)``, its rank among the ``n``
canaries the target did not see: ``log2(n + 1) - log2((n + 1)!) / (n + 1)`` bits on average
by chance (tending to ``log2(e) = 1.44``), ``log2(n + 1)`` when every inserted canary outranks
every other.

DP bounds every attack: at ``(epsilon, delta)`` no threshold has ``TPR > e^epsilon FPR + delta``.
:func:`epsilon_lower_bound` turns an attack's ROC into the epsilon it proves (with
Clopper-Pearson confidence bounds), which must stay below the accountant's epsilon.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

#: False-positive rates at which the true-positive rate is reported.
LOW_FPRS = (0.001, 0.01, 0.1)
#: ``phi`` of a record whose label the model has no output for (it cannot be more confident).
PHI_FLOOR = -30.0


def logit_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``log p_y - log(1 - p_y)`` per row from raw logits, stable for confident models; a label
    of -1 (no such output) gets :data:`PHI_FLOOR`."""
    logits = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(labels))
    known = labels >= 0
    own = np.where(known, logits[rows, np.where(known, labels, 0)], 0.0)
    others = logits.copy()
    others[rows[known], labels[known]] = -np.inf
    rest = np.logaddexp.reduce(others, axis=1)
    phi = np.where(known, own - rest, PHI_FLOOR)
    return np.clip(phi, PHI_FLOOR, -PHI_FLOOR)


def lira_scores(phi: np.ndarray, inside: np.ndarray) -> dict[str, np.ndarray]:
    """Leave-one-model-out LiRA scores: ``phi`` and ``inside`` are (models, records); row ``k``
    of each result scores model ``k``'s records using the other models as shadows (higher:
    more likely a member). Records lacking "in" or "out" shadows score 0 (no evidence)."""
    phi = np.asarray(phi, dtype=np.float64)
    inside = np.asarray(inside, dtype=bool)
    models = len(phi)
    online, offline = np.zeros_like(phi), np.zeros_like(phi)
    for k in range(models):
        shadows = np.arange(models) != k
        mu_in, mu_out, sd_in, sd_out, ok = _fit(phi[shadows], inside[shadows])
        target = phi[k]
        log_in = stats.norm.logpdf(target, mu_in, sd_in)
        log_out = stats.norm.logpdf(target, mu_out, sd_out)
        online[k] = np.where(ok, log_in - log_out, 0.0)
        offline[k] = np.where(ok, stats.norm.logcdf(target, mu_out, sd_out), 0.0)
    return {"online": online, "offline": offline}


def _fit(phi: np.ndarray, inside: np.ndarray):
    """Per-record means of ``phi`` in / out of the shadows' training sets, pooled variances."""
    n_in, n_out = inside.sum(axis=0), (~inside).sum(axis=0)
    ok = (n_in > 0) & (n_out > 0)
    mu_in = np.where(n_in > 0, (phi * inside).sum(axis=0) / np.maximum(n_in, 1), 0.0)
    mu_out = np.where(n_out > 0, (phi * ~inside).sum(axis=0) / np.maximum(n_out, 1), 0.0)
    sd_in = _pooled_sd(phi - mu_in, inside)
    sd_out = _pooled_sd(phi - mu_out, ~inside)
    return mu_in, mu_out, sd_in, sd_out, ok


def _pooled_sd(residuals: np.ndarray, mask: np.ndarray) -> float:
    dof = mask.sum() - np.count_nonzero(mask.any(axis=0))
    if dof <= 0:
        return 1.0
    return float(max(np.sqrt((residuals**2 * mask).sum() / dof), 1e-3))


def attack_metrics(member_scores: np.ndarray, other_scores: np.ndarray) -> dict:
    """AUC, advantage (max TPR - FPR), TPR at :data:`LOW_FPRS` and the epsilon the ROC proves."""
    truth = np.r_[np.ones(len(member_scores)), np.zeros(len(other_scores))]
    scores = np.r_[member_scores, other_scores]
    fpr, tpr, _ = roc_curve(truth, scores)
    result = {
        "members": len(member_scores),
        "non_members": len(other_scores),
        "auc": round(float(roc_auc_score(truth, scores)), 4),
        "advantage": round(float(np.max(tpr - fpr)), 4),
    }
    for rate in LOW_FPRS:
        result[f"tpr_at_fpr_{rate:g}"] = round(float(_tpr_at(fpr, tpr, rate)), 4)
    result["epsilon_lower_bound"] = round(
        epsilon_lower_bound(fpr, tpr, len(member_scores), len(other_scores)), 4
    )
    return result


def _tpr_at(fpr: np.ndarray, tpr: np.ndarray, rate: float) -> float:
    """The best TPR at a false-positive rate no higher than ``rate`` (0 when none is)."""
    allowed = fpr <= rate
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def epsilon_lower_bound(
    fpr: np.ndarray,
    tpr: np.ndarray,
    members: int,
    others: int,
    delta: float = 1e-5,
    confidence: float = 0.95,
) -> float:
    """The largest ``log((TPR_low - delta) / FPR_high)`` over the ROC's thresholds (and the
    complementary tests), TPR and FPR at one-sided Clopper-Pearson bounds, Bonferroni-corrected
    over every threshold tried so the maximum holds at ``confidence``: an epsilon the attack
    proves; 0 when it proves none. Rows are treated as independent draws."""
    alpha = (1.0 - confidence) / (4.0 * len(tpr))
    hits = np.round(np.asarray(tpr) * members)
    false = np.round(np.asarray(fpr) * others)
    tpr_low = np.where(hits > 0, stats.beta.ppf(alpha, hits, members - hits + 1), 0.0)
    fpr_high = np.where(false < others, stats.beta.ppf(1 - alpha, false + 1, others - false), 1.0)
    # the same bound for the complementary test (call "member" below the threshold)
    tnr_low, fnr_high = 1.0 - fpr_high, 1.0 - tpr_low
    best = 0.0
    for good, bad in ((tpr_low, fpr_high), (tnr_low, fnr_high)):
        usable = (good - delta > 0) & (bad > 0)
        if usable.any():
            best = max(best, float(np.max(np.log((good[usable] - delta) / bad[usable]))))
    return best


def exposure(scores: np.ndarray, inside: np.ndarray) -> dict:
    """Exposure of the inserted canaries: ``scores``/``inside`` are (models, canaries) with
    each model's canary scores and which canaries it trained on."""
    values, bound, chance = [], [], []
    for row, member in zip(np.asarray(scores), np.asarray(inside, dtype=bool), strict=True):
        held = row[~member]
        for score in row[member]:
            rank = 1 + int(np.sum(held >= score))
            values.append(math.log2(len(held) + 1) - math.log2(rank))
            bound.append(math.log2(len(held) + 1))
            chance.append(chance_exposure(len(held)))
    if not values:
        return {"canaries_inserted": 0}
    return {
        "canaries_inserted": len(values),
        "mean_exposure_bits": round(float(np.mean(values)), 4),
        "max_exposure_bits": round(float(np.max(values)), 4),
        "chance_exposure_bits": round(float(np.mean(chance)), 4),
        "max_possible_bits": round(float(np.mean(bound)), 4),
    }


def chance_exposure(held: int) -> float:
    """Mean exposure of a canary ranked uniformly at random among ``held`` others."""
    return math.log2(held + 1) - math.lgamma(held + 2) / math.log(2) / (held + 1)

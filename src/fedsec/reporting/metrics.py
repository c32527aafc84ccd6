"""Detection metrics (scikit-learn underneath), over canonical family names.

scikit-learn is imported where a metric is computed: loading it (SciPy with it) takes about
2 CPU-s, and NVFlare job processes import this module without always evaluating."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import BENIGN, family_order


def _round(value: float) -> float:
    return float(round(float(value), 6))


def classification_metrics(true: np.ndarray, pred: np.ndarray) -> dict:
    """Macro-F1 over the families present, per-family recall, benign false-positive rate."""
    labels = family_order(true)
    if len(true) == 0:
        return {"rows": 0}
    from sklearn.metrics import precision_recall_fscore_support

    # one call for recall and F1: each of recall_score and f1_score validates and counts anew
    _, recalls, f1, _ = precision_recall_fscore_support(
        true, pred, labels=labels, average=None, zero_division=0
    )
    benign = true == BENIGN
    attacks = ~benign
    return {
        "rows": len(true),
        "macro_f1": _round(np.mean(f1)),
        "accuracy": _round(np.mean(true == pred)),
        "benign_fpr": _round(np.mean(pred[benign] != BENIGN)) if benign.any() else None,
        "attack_recall": _round(np.mean(pred[attacks] != BENIGN)) if attacks.any() else None,
        "per_family_recall": {f: _round(r) for f, r in zip(labels, recalls, strict=True)},
    }


def unseen_metrics(true: np.ndarray, pred: np.ndarray, unseen: Iterable[str]) -> dict:
    """On attacks of families the organization never trained on: share flagged as malicious
    (any attack family) and share put in the right family."""
    unseen = set(unseen) - {BENIGN}
    mask = np.isin(true, list(unseen))
    if not mask.any():
        return {
            "unseen_rows": 0,
            "unseen_family_recall": None,
            "unseen_family_correct": None,
            "unseen_families": [],
        }
    t, p = true[mask], pred[mask]
    return {
        "unseen_rows": int(mask.sum()),
        "unseen_family_recall": _round(np.mean(p != BENIGN)),
        "unseen_family_correct": _round(np.mean(p == t)),
        "unseen_families": family_order(t),
        "unseen_per_family_recall": {
            f: _round(np.mean(p[t == f] != BENIGN)) for f in family_order(t)
        },
    }


def pooled_rate(parts: list[tuple[float | None, int]]) -> float | None:
    """Combine per-org rates weighted by their row counts."""
    valid = [(r, n) for r, n in parts if r is not None and n > 0]
    if not valid:
        return None
    return _round(sum(r * n for r, n in valid) / sum(n for _, n in valid))


def score_metrics(true: np.ndarray, scores: np.ndarray) -> dict:
    """Threshold-free quality of an anomaly score (attack = positive): ROC-AUC and PR-AUC
    (average precision); None when the rows hold only one class."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    attack = np.asarray(true) != BENIGN
    if attack.all() or not attack.any():
        return {"roc_auc": None, "pr_auc": None}
    return {
        "roc_auc": _round(roc_auc_score(attack, scores)),
        "pr_auc": _round(average_precision_score(attack, scores)),
    }


def detection_metrics(true: np.ndarray, flagged: np.ndarray) -> dict:
    """At one operating point: share of attacks flagged (detection rate), share of benign rows
    flagged (realized false-positive rate), and the detection rate of each attack family."""
    rates = flag_rates(true, flagged)
    attacks = np.asarray(true) != BENIGN
    flagged = np.asarray(flagged, dtype=bool)
    return {
        "detection_rate": _round(flagged[attacks].mean()) if attacks.any() else None,
        "benign_fpr": rates.get(BENIGN),
        "per_family_detection": {f: rates[f] for f in family_order(rates) if f != BENIGN},
    }


def flag_rates(groups: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    """Share of flagged rows per distinct value of ``groups`` (families, dataset labels)."""
    codes, names = pd.factorize(pd.Series(groups, dtype=object), sort=True)
    flagged = np.asarray(flagged, dtype=float)
    hits = np.bincount(codes, weights=flagged, minlength=len(names))
    rows = np.bincount(codes, minlength=len(names))
    return {str(n): _round(h / r) for n, h, r in zip(names, hits, rows, strict=True)}

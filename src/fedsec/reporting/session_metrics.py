"""Session-level detection metrics: precision, recall, F1 and false-positive rate, counted over
sessions and, separately, over distinct event sequences (each sequence once per organization);
ROC-AUC and PR-AUC of the session scores; recall per kind of anomaly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fedsec.data.logs.sessions import ANOMALOUS, NORMAL, UNKNOWN


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


def confusion(labels: np.ndarray, flagged: np.ndarray) -> dict[str, int]:
    anomalous = labels == ANOMALOUS
    normal = labels == NORMAL
    return {
        "tp": int((flagged & anomalous).sum()),
        "fp": int((flagged & normal).sum()),
        "tn": int((~flagged & normal).sum()),
        "fn": int((~flagged & anomalous).sum()),
    }


def from_confusion(c: dict[str, int]) -> dict:
    """Precision/recall/F1 (None without anomalous sessions: only false alarms can be judged)."""
    abnormal, normal = c["tp"] + c["fn"], c["fp"] + c["tn"]
    out: dict = {"sessions": abnormal + normal, "normal": normal, "abnormal": abnormal, **c}
    out["fpr"] = _ratio(c["fp"], normal)
    if abnormal == 0:
        out.update(precision=None, recall=None, f1=None)
        return out
    out["precision"] = _ratio(c["tp"], c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    out["recall"] = _ratio(c["tp"], abnormal)
    out["f1"] = _ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"])
    return out


def distinct_rows(tokens: Sequence[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """First row of each distinct (sequence, label) pair."""
    seen: dict[tuple[bytes, int], int] = {}
    for row, (t, label) in enumerate(zip(tokens, labels, strict=True)):
        seen.setdefault((t.tobytes(), int(label)), row)
    return np.asarray(sorted(seen.values()), np.int64)


def session_metrics(tokens: Sequence[np.ndarray], labels: np.ndarray, flagged: np.ndarray) -> dict:
    """Metrics over sessions, with the same over distinct sequences under ``distinct``."""
    rows = distinct_rows(tokens, labels)
    result = from_confusion(confusion(labels, flagged))
    result["distinct"] = from_confusion(confusion(labels[rows], flagged[rows]))
    return result


def pooled(per_org: list[dict]) -> dict:
    """Overall metrics from the organizations' confusion counts (sessions and distinct)."""
    keys = ("tp", "fp", "tn", "fn")
    result = from_confusion({k: sum(m[k] for m in per_org) for k in keys})
    result["distinct"] = from_confusion({k: sum(m["distinct"][k] for m in per_org) for k in keys})
    f1s = [m["f1"] for m in per_org if m.get("f1") is not None]
    result["mean_org_f1"] = round(float(np.mean(f1s)), 6) if f1s else None
    return result


def ranking(labels: np.ndarray, scores: np.ndarray) -> dict:
    """Threshold-free quality of the session scores: ROC-AUC and PR-AUC (average precision,
    anomalous = positive); None when the sessions are all of one kind. Infinite scores (events
    never seen) rank above every finite one. scikit-learn is imported here, where it is used:
    job processes load this module without always ranking (:mod:`fedsec.reporting.metrics`)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels, scores = np.asarray(labels), np.asarray(scores, np.float64)
    known = labels != UNKNOWN
    labels, scores = labels[known], scores[known]
    if len(np.unique(labels)) < 2:
        return {"roc_auc": None, "pr_auc": None}
    finite = scores[np.isfinite(scores)]
    top = float(finite.max()) + 1.0 if len(finite) else 1.0
    scores = np.nan_to_num(scores, posinf=top, neginf=-top)
    positive = labels == ANOMALOUS
    return {
        "roc_auc": round(float(roc_auc_score(positive, scores)), 6),
        "pr_auc": round(float(average_precision_score(positive, scores)), 6),
    }


def label_recall(origins: np.ndarray, labels: np.ndarray, flagged: np.ndarray) -> dict:
    """Per kind of anomaly (the file its sessions came from): anomalous sessions, how many were
    flagged, and the recall."""
    out = {}
    anomalous = np.asarray(labels) == ANOMALOUS
    for origin in sorted({str(o) for o in np.asarray(origins)[anomalous]}):
        rows = anomalous & (np.asarray(origins).astype(str) == origin)
        out[origin] = _recall_entry(int(rows.sum()), int(np.asarray(flagged)[rows].sum()))
    return out


def pooled_label_recall(per_org: list[dict]) -> dict:
    totals: dict[str, list[int]] = {}
    for entry in per_org:
        for origin, r in entry.items():
            total = totals.setdefault(origin, [0, 0])
            total[0] += r["abnormal"]
            total[1] += r["detected"]
    return {origin: _recall_entry(n, k) for origin, (n, k) in sorted(totals.items())}


def _recall_entry(abnormal: int, detected: int) -> dict:
    return {"abnormal": abnormal, "detected": detected, "recall": _ratio(detected, abnormal)}

"""Session-level detection metrics: precision, recall, F1 and false-positive rate, counted over
sessions and, separately, over distinct event sequences (each sequence once per organization)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fedsec.data.logs.sessions import ANOMALOUS, NORMAL


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

"""How high a model's macro-F1 can go: a family it never trained on is never predicted, so its
F1 is 0 and macro-F1 over the families scored is at most (families trained on and scored) /
(families scored). Macro-F1 over the trained families alone (benign included) sets the cap
aside; every row still counts, so an unseen attack called benign or a known family still costs
that class its precision."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.metrics import f1_score

from fedsec.data.taxonomy import BENIGN, family_order


def ceiling_metrics(true: np.ndarray, pred: np.ndarray, trained: Iterable[str]) -> dict:
    """Ceiling of macro-F1 on these rows for a model trained on ``trained``, and macro-F1
    restricted to those families (plus benign)."""
    scored = family_order(true)
    known = [f for f in scored if f in set(trained) | {BENIGN}]
    if not scored:
        return {"families_scored": 0}
    f1 = f1_score(true, pred, labels=known, average="macro", zero_division=0) if known else 0.0
    return {
        "families_scored": len(scored),
        "families_trained_scored": len(known),
        "macro_f1_ceiling": float(round(len(known) / len(scored), 6)),
        "macro_f1_trained_families": float(round(float(f1), 6)),
    }


def mean_of(per_org: dict[str, dict], key: str) -> float | None:
    """Mean of ``key`` over the organizations that have it."""
    values = [m[key] for m in per_org.values() if m.get(key) is not None]
    return float(round(float(np.mean(values)), 6)) if values else None

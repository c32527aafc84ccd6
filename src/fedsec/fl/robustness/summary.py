"""What a robust rule did over a run, per organization: from the rounds' decisions
(:meth:`fedsec.fl.robustness.base.RoundDefence.to_json`), in-process or deployed."""

from __future__ import annotations

from collections import Counter

import numpy as np


def defence_summary(rounds: list[dict], names: list[str]) -> dict:
    """Per organization: rounds excluded, down-weighted, capped, its mean share, and why it
    was first left out (when the rule said)."""
    counts = {key: Counter() for key in ("excluded", "down_weighted", "capped")}
    shares: dict[str, list[float]] = {n: [] for n in names}
    why: dict[str, str] = {}
    for record in rounds:
        for key, counter in counts.items():
            counter.update(record[key])
        for name, share in record["share"].items():
            shares[name].append(share)
        for name, reason in record.get("reasons", {}).items():
            why.setdefault(name, reason)
    return {
        n: {
            "rounds_excluded": counts["excluded"][n],
            "rounds_down_weighted": counts["down_weighted"][n],
            "rounds_capped": counts["capped"][n],
            "mean_share": round(float(np.mean(shares[n])), 4) if shares[n] else None,
            "left_out_because": why.get(n),
        }
        for n in names
    }

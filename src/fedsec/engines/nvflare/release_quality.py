"""What the sites signed of the final model's quality, checked before anything is released.

The statements prove which model each site evaluated, not that it is any good: a hostile
coordinator chooses the model it sends for evaluation (and, every round, the reference a site's
acceptance gate compares it with), its logs event index and pooled rules. Every site signs its
own held-out figures, so the admin reads them: a model is released only if

- at every site, its threshold holds the scenario's false-positive rate on that site's benign
  validation rows (the rows it was calibrated on) within their sampling noise: a one-token
  event index or a pooled ``top_k = 1`` flagged every benign session and was signed; and
- at some site, it detects that site's test attacks better than chance (a detection rate above
  its benign false-positive rate): an all-zero model, or one whose preprocessing blinded it,
  was signed with a detection rate of 0 everywhere; and
- the sites' mean test detection rate reaches the scenario's ``evaluation.release_min_detection``
  where the consortium sets one (a worse model than the rounds made, that still detects
  something, is otherwise released); and
- no site's gate found one attack family's detection taken away, and each family's test
  detection rate pooled over the sites holding it reaches the scenario's
  ``evaluation.release_min_family_detection`` where set (:mod:`.release_families`).

Honest sites' own figures are the only measure of a model the admin has that the coordinator
did not choose; the numbers and their thresholds are in docs/deployment.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fedsec.engines.nvflare.release_families import family_refusal


def _rate(section: Any, key: str) -> float | None:
    value = section.get(key) if isinstance(section, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _count(section: Any) -> int:
    for key in ("rows", "sessions"):
        value = section.get(key) if isinstance(section, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def fpr_allowance(target_fpr: float, rows: int) -> float:
    """The highest benign false-positive rate on ``rows`` calibration rows an honest threshold
    at ``target_fpr`` shows: the target, three binomial standard deviations and two rows of
    ties above it (at least 2 points); 5 points above it when the site withheld its count (a
    job not in clear: an honest HDFS site's capped ``top_k`` flagged 3 of its 70 sessions)."""
    if rows <= 0:
        return target_fpr + 0.05
    noise = 3 * math.sqrt(target_fpr * (1 - target_fpr) / rows) + 2 / rows
    return target_fpr + max(noise, 0.02)


def quality_refusal(
    evaluated: Mapping[str, dict],
    target_fpr: float,
    min_detection: float = 0.0,
    min_family_detection: float = 0.0,
) -> str | None:
    """Why the figures the sites signed forbid releasing the model they evaluated (None:
    they allow it); ``min_detection``: the scenario's floor on the sites' mean test detection
    rate (``evaluation.release_min_detection``; 0: better than chance only); per family:
    :func:`~fedsec.engines.nvflare.release_families.family_refusal`."""
    for site, reply in sorted(evaluated.items()):
        validation = reply.get("validation")
        fpr = _rate(validation, "benign_fpr")
        allowed = fpr_allowance(target_fpr, _count(validation))
        if fpr is not None and fpr > allowed:
            return (
                f"at {site} the final model flags {fpr:.1%} of the benign validation rows its "
                f"threshold was calibrated on, over the scenario's target false-positive rate "
                f"{target_fpr:g} (at most {allowed:.1%} with their noise)"
            )
    chances = {
        site: (_rate(reply.get("test"), "detection_rate"), _rate(reply.get("test"), "benign_fpr"))
        for site, reply in evaluated.items()
    }
    measured = {s: (d, f) for s, (d, f) in chances.items() if d is not None}
    if measured and all(d <= (f or 0.0) for d, f in measured.values()):
        shown = ", ".join(
            f"{s} {d:.1%} vs {f or 0.0:.1%}" for s, (d, f) in sorted(measured.items())
        )
        return (
            "no site's signed figures show the final model detecting its test attacks better "
            f"than chance (detection rate vs benign false-positive rate: {shown})"
        )
    mean = sum(d for d, _ in measured.values()) / len(measured) if measured else None
    if min_detection > 0 and (mean is None or mean < min_detection):
        said = "no site signed a test detection rate" if mean is None else f"{mean:.1%}"
        return (
            f"the sites' signed test detection rates average {said}, under the scenario's "
            f"release floor evaluation.release_min_detection = {min_detection:g}"
        )
    return family_refusal(evaluated, min_family_detection)

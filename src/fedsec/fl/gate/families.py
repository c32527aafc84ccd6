"""A site's judgement of the final model family by family, on its own validation rows.

The overall detection rate hides one family taken away: brute force 0.48 -> 0.00 at one site
moved that site's mean by a few points, within the gate's tolerance. So each attack family the
site's validation rows hold is judged on its own rows with the gate's paired bootstrap
(:func:`fedsec.fl.gate.bound.paired_fall`, metric ``detection_rate``), against each reference
the site has: the best model the coordinator sent (what the overall gate compares with) and the
parameters this site itself trained last, which the coordinator did not choose (a model sent
every round with the family taken away is the coordinator's every reference; the site's own
local update, trained on its rows, detects the family again). The gate's ``confidence`` holds
for the whole judgement: each (family, reference) comparison is made at ``1 - (1 - confidence)
/ comparisons`` (Bonferroni). A family with fewer than ``family_min_rows`` validation rows is
not judged, and the verdict says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsec.core import seeding
from fedsec.data.taxonomy import BENIGN, family_order
from fedsec.fl.gate.bound import paired_fall
from fedsec.fl.gate.config import GateConfig

#: The references a family is judged against: the best model the coordinator sent and this
#: site's own last local update.
SENT, OWN = "sent", "own"


def family_detection(truth: np.ndarray, predicted: np.ndarray) -> dict[str, dict]:
    """Each attack family of ``truth``: the share of its rows flagged as any attack, and how
    many rows it has (``{family: {"detection_rate": r, "rows": n}}``, families in order)."""
    truth, flagged = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object) != BENIGN
    rates = {}
    for family in family_order(truth):
        if family == BENIGN:
            continue
        rows = truth == family
        rates[family] = {"detection_rate": float(flagged[rows].mean()), "rows": int(rows.sum())}
    return rates


@dataclass(frozen=True)
class FamilyVerdict:
    """One family's judgement: its validation rows, its detection rate under the judged model,
    the reference it is compared with (the one it fell furthest below) and the lower bound of
    that fall; ``judged`` False: too few rows, or no reference; ``dropped``: a fall surely
    beyond the tolerance."""

    family: str
    rows: int
    score: float
    judged: bool
    dropped: bool = False
    reference: float | None = None
    against: str | None = None
    fall_bound: float | None = None

    def to_json(self, told: bool = True) -> dict:
        """The verdict as the site signs it; without numbers (``told`` False) only whether the
        family was judged and dropped."""
        decision = {"judged": self.judged, "dropped": self.dropped}
        if not told:
            return decision
        bound = None if self.fall_bound is None else round(self.fall_bound, 6)
        return decision | {
            "rows": self.rows,
            "score": round(self.score, 6),
            "reference": None if self.reference is None else round(self.reference, 6),
            "against": self.against,
            "fall_bound": bound,
        }


def judge_families(
    config: GateConfig,
    seed: int,
    truth: np.ndarray,
    candidate: np.ndarray,
    references: dict[str, np.ndarray],
) -> list[FamilyVerdict]:
    """Each attack family of ``truth`` judged: ``candidate`` (the final model's labels of the
    validation rows) against each of ``references`` (their labels of the same rows)."""
    truth = np.asarray(truth, dtype=object)
    candidate = np.asarray(candidate, dtype=object)
    rates = family_detection(truth, candidate)
    judged = [f for f, r in rates.items() if r["rows"] >= config.family_min_rows]
    comparisons = max(len(judged) * len(references), 1)
    confidence = 1.0 - (1.0 - config.confidence) / comparisons
    verdicts = []
    for family, rate in rates.items():
        if family not in judged:
            verdicts.append(FamilyVerdict(family, rate["rows"], rate["detection_rate"], False))
            continue
        rows = truth == family
        falls = {}
        for name, labels in sorted(references.items()):
            rng = seeding.rng(seed, "gate-family", family, name)
            reference = np.asarray(labels, dtype=object)[rows]
            fall = paired_fall(
                "detection_rate", truth[rows], reference, candidate[rows], confidence,
                config.resamples, rng,
            )  # fmt: skip
            if fall is not None:
                falls[name] = fall
        verdicts.append(_verdict(config, family, rate, falls))
    return verdicts


def _verdict(config: GateConfig, family: str, rate: dict, falls: dict) -> FamilyVerdict:
    score, rows = rate["detection_rate"], rate["rows"]
    if not falls:  # no reference to judge by (a site that measured and trained nothing)
        return FamilyVerdict(family, rows, score, False)
    against = max(falls, key=lambda name: falls[name].lower)
    fall = falls[against]
    dropped = fall.lower > config.family_max_drop
    return FamilyVerdict(
        family, rows, score, True, dropped, score + fall.point, against, fall.lower
    )


def family_reason(verdicts: list[FamilyVerdict], config: GateConfig) -> str:
    """One line naming the families whose detection surely fell (empty: none)."""
    said = [
        f"{v.family} {v.reference:.2f} -> {v.score:.2f} (against the "
        f"{'site-trained' if v.against == OWN else 'sent'} model, by more than "
        f"{v.fall_bound:.2f}, {v.rows} rows)"
        for v in verdicts
        if v.dropped and v.reference is not None and v.fall_bound is not None
    ]
    if not said:
        return ""
    return (
        f"validation detection of {'; '.join(said)} fell beyond the tolerated "
        f"{config.family_max_drop} at {config.confidence:.0%} confidence"
    )

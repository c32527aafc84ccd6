"""The final model judged family by family (fedsec.fl.gate.families): a family whose
detection surely fell beyond ``family_max_drop`` is dropped, a family with too few validation
rows is not judged and says so, and the gate's confidence holds over all the comparisons."""

import numpy as np

from fedsec.data.taxonomy import BENIGN
from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.families import OWN, SENT, family_detection, family_reason, judge_families

GATE = GateConfig(enabled=True, action="refuse")  # family_max_drop 0.5, family_min_rows 20


def rows(**counts: int) -> np.ndarray:
    return np.asarray([f for f, n in counts.items() for _ in range(n)], dtype=object)


def caught(truth: np.ndarray, rates: dict[str, float]) -> np.ndarray:
    """Each family's first ``rate`` share of rows flagged as that family, the rest benign."""
    labels = np.full(len(truth), BENIGN, dtype=object)
    for family, rate in rates.items():
        where = np.flatnonzero(truth == family)
        labels[where[: round(rate * len(where))]] = family
    return labels


def by_family(verdicts) -> dict:
    return {v.family: v for v in verdicts}


def test_family_detection_counts_each_attack_family_flagged_as_any_attack():
    truth = rows(benign=10, recon=4, dos=2)
    predicted = caught(truth, {"recon": 0.5})
    predicted[truth == "dos"] = ["recon", BENIGN]  # another attack is still a detection
    assert family_detection(truth, predicted) == {
        "dos": {"detection_rate": 0.5, "rows": 2},
        "recon": {"detection_rate": 0.5, "rows": 4},
    }


def test_a_family_taken_away_is_dropped_against_the_reference_that_detects_it():
    truth = rows(benign=300, recon=60, dos=40)
    final = caught(truth, {"recon": 0.8, "dos": 0.0})
    sent = caught(truth, {"recon": 0.8, "dos": 0.0})  # every model sent was as blind
    own = caught(truth, {"recon": 0.85, "dos": 0.9})  # what the site trained itself
    verdicts = by_family(judge_families(GATE, 0, truth, final, {SENT: sent, OWN: own}))
    dos, recon = verdicts["dos"], verdicts["recon"]
    assert dos.dropped and dos.against == OWN and dos.reference == 0.9 and dos.score == 0.0
    assert dos.fall_bound > 0.5 and not recon.dropped
    reason = family_reason(list(verdicts.values()), GATE)
    assert reason.startswith("validation detection of dos 0.90 -> 0.00 (against the site-")
    assert "recon" not in reason
    assert not by_family(judge_families(GATE, 0, truth, final, {SENT: sent}))["dos"].dropped


def test_a_fall_within_the_tolerance_or_the_noise_is_not_dropped():
    truth = rows(benign=100, recon=400, dos=20)
    final = caught(truth, {"recon": 0.55, "dos": 0.4})
    reference = caught(truth, {"recon": 1.0, "dos": 1.0})  # recon -0.45; dos -0.6 on 20 rows
    verdicts = by_family(judge_families(GATE, 0, truth, final, {OWN: reference}))
    assert not verdicts["recon"].dropped and 0.35 < verdicts["recon"].fall_bound <= 0.5
    assert not verdicts["dos"].dropped  # 0.6 fell, but 20 rows cannot say beyond 0.5


def test_a_family_with_too_few_rows_is_not_judged_and_says_so():
    truth = rows(benign=100, recon=60, dos=19)
    final = caught(truth, {"recon": 1.0, "dos": 0.0})
    reference = caught(truth, {"recon": 1.0, "dos": 1.0})
    dos = by_family(judge_families(GATE, 0, truth, final, {OWN: reference}))["dos"]
    assert dos.judged is False and dos.dropped is False and dos.reference is None
    assert dos.to_json() == {
        "judged": False, "dropped": False, "rows": 19, "score": 0.0, "reference": None,
        "against": None, "fall_bound": None,
    }  # fmt: skip
    assert dos.to_json(told=False) == {"judged": False, "dropped": False}
    alone = judge_families(GATE, 0, truth, final, {})  # a site that measured nothing
    assert not any(v.judged for v in alone)


def test_the_confidence_holds_over_every_family_and_reference():
    """Bonferroni: one comparison at 99 %, eight at 99.875 % each (a wider bound)."""
    truth = rows(benign=100, **{f"f{i}": 30 for i in range(4)})
    final = caught(truth, {f"f{i}": 0.3 for i in range(4)})
    reference = caught(truth, {f"f{i}": 1.0 for i in range(4)})
    one = GATE.model_copy(update={"family_min_rows": 30})
    alone = judge_families(one, 0, truth[:130], final[:130], {OWN: reference[:130]})
    many = judge_families(one, 0, truth, final, {OWN: reference, SENT: reference})
    assert by_family(many)["f0"].fall_bound < by_family(alone)["f0"].fall_bound

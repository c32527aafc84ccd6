"""The final model of a job is never a warm-up judgement: it is compared with the best model the
gate measured in any round (warm-up rounds included); without one, against chance
(test_final_against_chance.py)."""

import numpy as np

from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.judge import AcceptanceGate
from tests.fl.gate.verdicts import detecting, rows

REFUSE = GateConfig(enabled=True, max_drop=0.05, action="refuse")  # warm-up: 10 rounds


def _short_job(gate: AcceptanceGate, truth: np.ndarray) -> None:
    """Three rounds, all inside the default warm-up: judged, each accepted as a warm-up."""
    for round_, rate in ((1, 0.3), (2, 0.8), (3, 0.75)):
        assert gate.judge(round_, truth, detecting(truth, rate)).reason == "warm-up round"


def test_a_collapsed_final_model_after_a_three_round_job_is_refused():
    """Judged at round 4 (the old path) it was a warm-up round, accepted: the all-benign
    predictions of an all-zero model were released."""
    truth = rows(300, 100)
    gate = AcceptanceGate(REFUSE)
    _short_job(gate, truth)
    verdict = gate.judge_final(truth, detecting(truth, 0.0))
    assert verdict.judged is True and not verdict.accepted and verdict.flagged
    assert verdict.reference == 0.8 and "fell from 0.8000 to 0.0000" in verdict.reason
    assert verdict.to_json()["judged"] is True


def test_a_flagging_gate_flags_the_collapsed_final_model():
    truth = rows(300, 100)
    gate = AcceptanceGate(REFUSE.model_copy(update={"action": "flag"}))
    _short_job(gate, truth)
    verdict = gate.judge_final(truth, detecting(truth, 0.0))
    assert verdict.judged and verdict.accepted and verdict.flagged


def test_an_honest_final_model_of_a_short_job_is_accepted():
    truth = rows(300, 100)
    gate = AcceptanceGate(REFUSE)
    _short_job(gate, truth)
    verdict = gate.judge_final(truth, detecting(truth, 0.78))
    assert verdict.judged is True and verdict.accepted and not verdict.flagged
    assert verdict.reference == 0.8


def test_without_attack_rows_the_final_model_is_unjudged():
    truth = rows(0, 100)
    gate = AcceptanceGate(REFUSE)
    gate.judge(1, truth, truth)
    verdict = gate.judge_final(truth, truth)
    assert verdict.judged is False and "no rows to measure" in verdict.reason


def test_round_verdicts_are_unchanged():
    """The in-process gate's rounds: warm-up verdicts as before, no ``judged`` mark."""
    truth = rows(300, 100)
    gate = AcceptanceGate(REFUSE)
    verdict = gate.judge(1, truth, detecting(truth, 0.9))
    assert verdict.reason == "warm-up round" and "judged" not in verdict.to_json()
    assert gate.best is None  # a warm-up model is still no reference of the rounds

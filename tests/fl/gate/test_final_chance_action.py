"""A final model no better than chance, judged by a gate with no reference, follows the gate's
``action`` like any other comparison: flagged and accepted when the action is flag, refused
only when it is refuse. Before, it was always refused, so a site with its gate set to flag that
trained no round blocked the release."""

from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.judge import AcceptanceGate
from tests.fl.gate.verdicts import detecting, rows


def test_a_flagging_gate_flags_but_accepts_a_final_model_no_better_than_chance():
    truth = rows(300, 100)
    gate = AcceptanceGate(GateConfig(enabled=True, action="flag", target_fpr=0.05))
    verdict = gate.judge_final(truth, detecting(truth, 0.0))
    assert verdict.judged is True and verdict.accepted and verdict.flagged
    assert "no better than chance" in verdict.reason


def test_a_refusing_gate_still_refuses_a_final_model_no_better_than_chance():
    truth = rows(300, 100)
    gate = AcceptanceGate(GateConfig(enabled=True, action="refuse", target_fpr=0.05))
    verdict = gate.judge_final(truth, detecting(truth, 0.0))
    assert verdict.judged is True and not verdict.accepted and verdict.flagged

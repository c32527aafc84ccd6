"""A gate that measured no model of the job (its site never sampled, or restarted mid-job)
judges the final model against chance instead of leaving it unjudged: before, such a site's
unjudged verdict blocked every release of the job."""

import numpy as np

from fedsec.data.taxonomy import BENIGN
from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.judge import AcceptanceGate
from tests.fl.gate.verdicts import detecting, rows

REFUSE = GateConfig(enabled=True, action="refuse", target_fpr=0.05)


def test_a_detecting_final_model_is_accepted_without_a_reference():
    truth = rows(300, 100)
    verdict = AcceptanceGate(REFUSE).judge_final(truth, detecting(truth, 0.6))
    assert verdict.judged is True and verdict.accepted and not verdict.flagged
    assert verdict.reference == 0.05 and verdict.reason == "judged against chance"


def test_a_final_model_no_better_than_chance_is_refused_without_a_reference():
    truth = rows(300, 100)
    gate = AcceptanceGate(REFUSE)
    collapsed = gate.judge_final(truth, detecting(truth, 0.0))
    assert collapsed.judged is True and not collapsed.accepted and collapsed.flagged
    assert "detects 0.0% of the validation attacks, no better than chance" in collapsed.reason
    noisy = np.where(np.arange(len(truth)) % 5 == 0, "dos", BENIGN).astype(object)  # 20% of all
    verdict = gate.judge_final(truth, noisy)
    assert verdict.judged is True and not verdict.accepted and verdict.reference == 0.2


def test_without_a_reference_or_attack_rows_the_final_model_is_unjudged():
    truth = rows(0, 100)
    verdict = AcceptanceGate(REFUSE).judge_final(truth, truth)
    assert verdict.judged is False and not verdict.accepted

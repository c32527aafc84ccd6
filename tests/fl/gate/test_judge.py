from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.judge import AcceptanceGate
from tests.fl.gate.verdicts import detecting, rows


def test_a_fall_beyond_the_noise_is_refused_one_within_it_is_not():
    """500 validation attack rows: 0.80 -> 0.70 is surely more than 0.05 (refused);
    0.80 -> 0.77 is not (accepted, and the best stays 0.80)."""
    truth = rows(500, 200)
    gate = AcceptanceGate(GateConfig(enabled=True, max_drop=0.05, action="refuse", warmup_rounds=0))
    assert gate.judge(1, truth, detecting(truth, 0.60)).accepted
    assert gate.judge(2, truth, detecting(truth, 0.80)).accepted
    verdict = gate.judge(3, truth, detecting(truth, 0.70))
    assert not verdict.accepted and verdict.flagged
    assert "fell from 0.8000 to 0.7000" in verdict.reason
    assert 0.05 < verdict.fall_bound < 0.1
    assert gate.judge(4, truth, detecting(truth, 0.77)).accepted
    assert gate.best.score == 0.8


def test_the_same_fall_on_a_small_validation_set_is_noise():
    """The old gate refused 0.80 -> 0.70 whatever the rows; on 10 attack rows that is one row."""
    truth = rows(10, 40)
    gate = AcceptanceGate(GateConfig(enabled=True, max_drop=0.05, action="refuse", warmup_rounds=0))
    gate.judge(1, truth, detecting(truth, 0.8))
    verdict = gate.judge(2, truth, detecting(truth, 0.7))
    assert verdict.accepted and not verdict.flagged


def test_flag_trains_on_and_warmup_waits():
    truth = rows(300, 100)
    flagging = AcceptanceGate(
        GateConfig(enabled=True, max_drop=0.05, action="flag", warmup_rounds=0)
    )
    flagging.judge(1, truth, detecting(truth, 0.9))
    flagged = flagging.judge(2, truth, detecting(truth, 0.1))
    assert flagged.accepted and flagged.flagged
    waiting = AcceptanceGate(GateConfig(enabled=True, max_drop=0.0, warmup_rounds=2))
    waiting.judge(1, truth, detecting(truth, 0.9))  # a warm-up model is no reference
    assert not waiting.judge(2, truth, detecting(truth, 0.1)).flagged
    assert not waiting.judge(3, truth, detecting(truth, 0.5)).flagged  # the first reference
    assert waiting.judge(4, truth, detecting(truth, 0.1)).flagged


def test_a_new_validation_set_starts_a_new_reference():
    gate = AcceptanceGate(GateConfig(enabled=True, max_drop=0.0, action="refuse", warmup_rounds=0))
    first = rows(300, 100)
    gate.judge(1, first, first.copy())
    other = rows(200, 100)
    assert gate.judge(2, other, detecting(other, 0.5)).accepted  # not compared with `first`
    assert not gate.judge(3, other, detecting(other, 0.1)).accepted


def test_after_patience_refusals_in_a_row_the_model_becomes_the_reference():
    """A site refusing for ever would never train again (a lock-out): after 3 refusals the
    fourth such model is accepted, flagged, and judged against from then on."""
    truth = rows(500, 200)
    gate = AcceptanceGate(
        GateConfig(enabled=True, max_drop=0.05, action="refuse", warmup_rounds=0, patience=3)
    )
    gate.judge(1, truth, detecting(truth, 0.9))
    verdicts = [gate.judge(r, truth, detecting(truth, 0.5)) for r in range(2, 6)]
    assert [v.accepted for v in verdicts] == [False, False, False, True]
    assert verdicts[-1].flagged and "new reference after 3 refusals" in verdicts[-1].reason
    assert gate.best.score == 0.5
    assert gate.judge(6, truth, detecting(truth, 0.52)).accepted
    assert not gate.judge(7, truth, detecting(truth, 0.3)).accepted  # counts afresh

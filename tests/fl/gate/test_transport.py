import numpy as np

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.gate.config import GateConfig
from fedsec.fl.gate.judge import Verdict
from fedsec.fl.gate.transport import SiteGates
from fedsec.fl.loop import run_rounds
from fedsec.fl.strategies import strategy_class
from fedsec.training.plan import Update


class Training:
    """Every site sends the global model plus one; remembers who trained."""

    def __init__(self) -> None:
        self.trained: list[list[str]] = []

    def train(self, round_, params, tasks):
        self.trained.append(list(tasks))
        return {s: SiteResult(Update([p + 1 for p in params], 10, {"loss": 0.5})) for s in tasks}


def judge(refusing_rounds: set[int]):
    def verdict(round_, params):
        refused = round_ in refusing_rounds
        return Verdict(not refused, refused, 0.5, 0.9, "fell" if refused else "")

    return verdict


def test_a_refusing_site_does_not_train_and_every_verdict_is_counted():
    inner = Training()
    gates = SiteGates({"a": judge({2}), "b": judge(set())})  # "c" has no gate
    transport = gates.wrap(inner)
    fedavg = strategy_class("fedavg")()
    run_rounds(fedavg, transport, [np.zeros(3)], {"a": 10, "b": 10, "c": 10}, 3, seed=0)
    assert inner.trained == [["a", "b", "c"], ["b", "c"], ["a", "b", "c"]]
    summary = gates.record.summary()
    assert summary["judged"] == 6 and summary["refusals"] == 1
    assert summary["refusal_rate"] == round(1 / 6, 6)
    assert summary["rounds"] == [{"round": 2, "refused": {"a": "fell"}, "flagged": {}}]
    assert summary["scores"]["a"] == [[1, 0.5], [2, 0.5], [3, 0.5]]


def test_a_round_every_site_refuses_keeps_the_global_model():
    inner = Training()
    gates = SiteGates({"a": judge({2}), "b": judge({2})})
    fedavg = strategy_class("fedavg")()
    result = run_rounds(fedavg, gates.wrap(inner), [np.zeros(3)], {"a": 10, "b": 10}, 3, seed=0)
    assert inner.trained == [["a", "b"], ["a", "b"]]
    assert np.allclose(result.params[0], 2.0)  # rounds 1 and 3 moved it, round 2 did not
    assert np.isnan(result.history[1].loss)


def test_the_gate_defaults_flag_rather_than_refuse():
    config = GateConfig()
    assert not config.enabled and config.action == "flag" and config.confidence == 0.99

from fedsec.engines.inprocess import InProcessTransport, run_federated
from fedsec.engines.recording import RecordingTransport
from fedsec.fl.loop import run_rounds
from fedsec.fl.strategies import FedProx, Scaffold
from fedsec.training.params import get_params, max_abs_diff
from tests.engines.toy_federation import toy_model, toy_plan, toy_shards


def test_recording_changes_nothing_and_keeps_every_exchange():
    model, shards = toy_model(), toy_shards()
    start = get_params(model)
    plain = run_federated(model, start, shards, toy_plan, Scaffold(1.0), 3, fraction=0.5, seed=2)
    recorder = RecordingTransport(InProcessTransport(model, shards, toy_plan))
    rows = {s.name: len(s.y) for s in shards}
    recorded = run_rounds(Scaffold(1.0), recorder, start, rows, 3, fraction=0.5, seed=2)
    assert max_abs_diff(plain.params, recorded.params) == 0.0
    assert [(e.round, e.site) for e in recorder.exchanges] == [
        (r.round, site) for r in plain.history for site in r.selected
    ]
    first, later = recorder.of_round(1)[0], recorder.of_round(3)[0]
    assert max_abs_diff(first.received, start) == 0.0
    # SCAFFOLD: each site gets the coordinator's control (zero at first) and sends its change
    assert all(not c.any() for c in first.task.control)
    assert any(c.any() for c in later.task.control)
    assert [a.shape for a in first.sent.extra] == [a.shape for a in start]
    assert recorder.seconds(1) == sum(e.seconds for e in recorder.of_round(1))


def test_fedprox_tasks_carry_the_proximal_weight_and_no_control():
    model, shards = toy_model(), toy_shards()
    recorder = RecordingTransport(InProcessTransport(model, shards, toy_plan))
    rows = {s.name: len(s.y) for s in shards}
    run_rounds(FedProx(1.0, prox_mu=0.2), recorder, get_params(model), rows, 2, seed=0)
    assert {(e.task.prox_mu, e.task.control, e.sent.extra) for e in recorder.exchanges} == {
        (0.2, None, None)
    }
    assert len(recorder.exchanges) == 2 * len(shards)

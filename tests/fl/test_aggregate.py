import numpy as np
import pytest

from fedsec.fl import scaffold
from fedsec.fl.aggregate import ServerOptimizer, ServerState, server_step, weighted_average
from fedsec.training.local import Update


def _update(value: float, n: int) -> Update:
    return Update([np.full((2, 3), value, np.float32), np.full(3, -value, np.float32)], n)


def test_weighted_average_weights_by_samples():
    avg = weighted_average([_update(1.0, 100), _update(4.0, 300)])
    assert np.allclose(avg[0], 3.25) and np.allclose(avg[1], -3.25)


def test_weighted_average_rejects_nothing_to_average():
    with pytest.raises(ValueError):
        weighted_average([])
    with pytest.raises(ValueError):
        weighted_average([_update(1.0, 0)])


def test_fedavg_server_step_with_unit_rate_returns_the_average():
    current = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
    avg = weighted_average([_update(2.0, 1), _update(4.0, 1)])
    new, state = server_step(current, avg, ServerOptimizer("fedavg", 1.0), ServerState())
    assert np.allclose(new[0], 3.0) and state.step == 1


def test_fedadam_matches_the_adam_update_by_hand():
    opt = ServerOptimizer("fedadam", lr=0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    current = [np.array([1.0], np.float32)]
    new, state = server_step(current, [np.array([3.0], np.float32)], opt, ServerState())
    delta = 2.0
    m = 0.1 * delta
    v = 0.99 * 1e-6 + 0.01 * delta**2
    assert new[0][0] == pytest.approx(1.0 + 0.1 * m / (np.sqrt(v) + 1e-3), rel=1e-6)
    again, state = server_step(new, [new[0] + 1.0], opt, state)
    assert state.step == 2 and again[0][0] > new[0][0]


def test_scaffold_server_control_is_the_weighted_mean_of_client_controls():
    server = [np.zeros(2, np.float32)]
    deltas = [[np.array([1.0, 2.0])], [np.array([3.0, 0.0])]]
    new = scaffold.server_control_step(server, deltas, [0.25, 0.75])
    assert np.allclose(new[0], [2.5, 0.5])
    assert np.allclose(scaffold.correction(new, [np.array([0.5, 0.5])])[0], [2.0, 0.0])

"""Each strategy's server step against its paper's update rule, computed by hand."""

import numpy as np
import pytest

from fedsec.fl.aggregation import SiteResult
from fedsec.fl.config import StrategyConfig
from fedsec.fl.strategies import (
    STRATEGIES,
    FedAdagrad,
    FedAdam,
    FedAvg,
    FedAvgM,
    FedProx,
    FedYogi,
    Scaffold,
    StrategyState,
    from_config,
)
from fedsec.fl.strategies.scaffold import correction, server_control_step
from fedsec.training.plan import Update


def _update(value: float, n: int) -> Update:
    return Update([np.full((2, 3), value, np.float32), np.full(3, -value, np.float32)], n)


def test_fedavg_with_unit_rate_returns_the_average():
    current = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
    strategy = FedAvg(1.0)
    results = {"a": SiteResult(_update(2.0, 1)), "b": SiteResult(_update(4.0, 1))}
    new, _ = strategy.aggregate(1, current, results)
    assert np.allclose(new[0], 3.0) and np.allclose(new[1], -3.0) and strategy.state.step == 1


def _adaptive(cls, second_moment):
    """Two steps of ``cls`` against Reddi et al.'s Algorithm 2 with that second moment."""
    strategy = cls(0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    x, m, v = 1.0, 0.0, 1e-6
    params = [np.array([x], np.float32)]
    for target in (3.0, 0.5):
        delta = target - float(params[0][0])
        m = 0.9 * m + 0.1 * delta
        v = second_moment(v, delta)
        expected = float(params[0][0]) + 0.1 * m / (np.sqrt(v) + 1e-3)
        params = strategy.step(params, [np.array([target], np.float32)])
        assert params[0][0] == pytest.approx(expected, rel=1e-6)
    assert strategy.state.step == 2


def test_fedadam_matches_adam_by_hand():
    _adaptive(FedAdam, lambda v, d: 0.99 * v + 0.01 * d * d)


def test_fedyogi_moves_the_second_moment_additively():
    _adaptive(FedYogi, lambda v, d: v - 0.01 * d * d * np.sign(v - d * d))


def test_fedadagrad_sums_squared_changes():
    _adaptive(FedAdagrad, lambda v, d: v + d * d)


def test_second_moments_differ_between_the_adaptive_strategies():
    """The same two rounds give three different models: each rule is really in use."""
    ends = set()
    for cls in (FedAdam, FedYogi, FedAdagrad):
        strategy, params = cls(0.1), [np.array([1.0], np.float32)]
        for target in (3.0, 0.5):
            params = strategy.step(params, [np.array([target], np.float32)])
        ends.add(round(float(params[0][0]), 6))
    assert len(ends) == 3


def test_fedavgm_accumulates_server_momentum():
    strategy = FedAvgM(0.5, momentum=0.9)
    params = [np.array([0.0], np.float32)]
    params = strategy.step(params, [np.array([1.0], np.float32)])  # m = 1
    assert params[0][0] == pytest.approx(0.5)
    params = strategy.step(params, [np.array([1.0], np.float32)])  # m = 0.9 + 0.5
    assert params[0][0] == pytest.approx(0.5 + 0.5 * 1.4)
    assert np.allclose(strategy.state.m[0], 1.4) and strategy.state.step == 2


def test_fedprox_sends_its_proximal_weight_and_the_others_none():
    assert FedProx(1.0, prox_mu=0.3).configure_round(1, ["a", "b"])["b"].prox_mu == 0.3
    for name, cls in STRATEGIES.items():
        if name != "fedprox":
            assert cls().prox_mu == 0.0


def test_scaffold_server_control_is_the_weighted_mean_of_client_controls():
    server = [np.zeros(2, np.float32)]
    deltas = [[np.array([1.0, 2.0])], [np.array([3.0, 0.0])]]
    new = server_control_step(server, deltas, [0.25, 0.75])
    assert np.allclose(new[0], [2.5, 0.5])
    assert np.allclose(correction(new, [np.array([0.5, 0.5])])[0], [2.0, 0.0])


def test_scaffold_sends_its_control_and_absorbs_the_changes():
    start = [np.zeros(2, np.float32)]
    strategy = Scaffold(1.0)
    strategy.start(start, {"a": 100, "b": 300})
    assert np.array_equal(strategy.configure_site("a", 1).control[0], [0.0, 0.0])
    results = {
        "a": SiteResult(Update([np.ones(2, np.float32)], 100), [np.array([4.0, 0.0])]),
        "b": SiteResult(Update([np.ones(2, np.float32)], 300), [np.array([0.0, 4.0])]),
    }
    strategy.aggregate(1, start, results)
    assert np.allclose(strategy.configure_site("b", 2).control[0], [1.0, 3.0])
    with pytest.raises(ValueError, match="control-variate change"):
        strategy.aggregate(2, start, {"a": SiteResult(results["a"].update)})


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_builds_from_its_config_with_its_own_server_lr(name):
    config = StrategyConfig(name=name)
    strategy = from_config(config)
    assert type(strategy) is STRATEGIES[name] and strategy.name == name
    assert strategy.server_lr == config.server_lr == STRATEGIES[name].default_server_lr
    assert from_config(config, server_lr=0.5).server_lr == 0.5


def test_an_unknown_strategy_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown strategy 'fedsgd'.*fedyogi"):
        StrategyConfig(name="fedsgd")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_a_strategy_restored_from_its_saved_state_steps_as_the_original(name):
    """What a checkpoint keeps (arrays and JSON, no pickle) is all a strategy needs to go on."""
    current = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
    rows = {"a": 3, "b": 1}

    def results(value):
        extra = [np.full((2, 3), value, np.float32), np.full(3, value, np.float32)]
        return {
            site: SiteResult(_update(value * (i + 1), n), extra if name == "scaffold" else None)
            for i, (site, n) in enumerate(rows.items())
        }

    config = StrategyConfig(name=name)
    original = from_config(config)
    original.start(current, rows)
    params, _ = original.aggregate(1, current, results(0.5))
    saved = original.state_dict()
    restored = from_config(config)
    restored.start(current, rows)
    restored.load_state(saved)
    expected, _ = original.aggregate(2, params, results(-0.25))
    got, _ = restored.aggregate(2, params, results(-0.25))
    assert all(np.array_equal(e, g) for e, g in zip(expected, got, strict=True))
    kept, again = original.state_dict(), restored.state_dict()
    assert again.meta == kept.meta == {"step": 2} and sorted(again.tensors) == sorted(kept.tensors)
    for key, arrays in kept.tensors.items():
        assert all(np.array_equal(a, b) for a, b in zip(arrays, again.tensors[key], strict=True))
    fresh = from_config(config)
    fresh.start(current, rows)
    fresh.aggregate(2, params, results(-0.25))
    unrestored = fresh.state_dict().tensors
    stateful = {"fedadam", "fedyogi", "fedadagrad", "fedavgm", "scaffold"}
    assert (name in stateful) == any(
        not np.array_equal(a, b)
        for k in kept.tensors
        for a, b in zip(kept.tensors[k], unrestored[k], strict=True)
    )


def test_a_saved_state_that_does_not_fit_the_strategy_is_refused():
    current = [np.zeros((2, 3), np.float32)]
    scaffold = Scaffold()
    scaffold.start(current, {"a": 1})
    with pytest.raises(ValueError, match=r"server control variate \[\(3,\)\], expected"):
        scaffold.load_state(StrategyState({"control": [np.zeros(3, np.float32)]}, {"step": 1}))
    with pytest.raises(ValueError, match=r"fedadam state: unexpected arrays \['control'\]"):
        FedAdam().load_state(StrategyState({"control": current}, {"step": 1}))
    with pytest.raises(ValueError, match="fedavg state: step -1 is not a count"):
        FedAvg().load_state(StrategyState({}, {"step": -1}))

"""The server-step schedule (``strategy.server_lr_decay``): the step each round takes, in every
strategy with a server step, and through a checkpoint."""

import math

import numpy as np
import pytest

from fedsec.engines.inprocess import InProcessTransport
from fedsec.fl.aggregation import SiteResult
from fedsec.fl.config import StrategyConfig
from fedsec.fl.loop import run_rounds
from fedsec.fl.strategies import STRATEGIES, from_config
from fedsec.fl.strategies.schedule import ServerSchedule
from fedsec.training.params import get_params, max_abs_diff
from fedsec.training.plan import Update
from tests.engines.toy_federation import toy_model, toy_plan, toy_shards


@pytest.mark.parametrize(
    ("kind", "floor", "expected"),
    [
        ("none", 0.0, [1.0, 1.0, 1.0, 1.0, 1.0]),
        ("linear", 0.0, [1.0, 0.75, 0.5, 0.25, 0.0]),
        ("linear", 0.2, [1.0, 0.8, 0.6, 0.4, 0.2]),
        ("cosine", 0.0, [1.0, (1 + math.sqrt(0.5)) / 2, 0.5, (1 - math.sqrt(0.5)) / 2, 0.0]),
        ("cosine", 0.1, [1.0, 0.1 + 0.9 * (1 + math.sqrt(0.5)) / 2, 0.55, None, 0.1]),
    ],
)
def test_the_step_falls_from_server_lr_at_round_one_to_the_floor_at_the_last(kind, floor, expected):
    schedule = ServerSchedule(kind, floor)
    for round_, share in enumerate(expected, start=1):
        if share is not None:
            assert schedule.factor(round_, 5) == pytest.approx(share)


def test_without_a_known_length_the_step_is_not_decayed():
    assert ServerSchedule("cosine").factor(7, None) == 1.0
    assert ServerSchedule("linear").factor(1, 1) == 1.0


def test_a_bad_schedule_is_refused_with_the_field_named():
    with pytest.raises(ValueError, match="server_lr_decay"):
        ServerSchedule("step")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="server_lr_floor"):
        ServerSchedule("cosine", 1.5)
    with pytest.raises(ValueError, match="server_lr_decay"):
        StrategyConfig(server_lr_decay="exponential")
    with pytest.raises(ValueError, match="server_lr_floor"):
        StrategyConfig(server_lr_floor=-0.1)


def test_the_default_keeps_the_constant_step():
    config = StrategyConfig()
    assert config.server_lr_decay == "none"
    assert from_config(config).schedule == ServerSchedule()


class _FixedChange:
    """A transport whose every site moves each coordinate by +1 from the global model."""

    def train(self, round_, params, tasks):
        moved = [p + 1.0 for p in params]
        return {site: SiteResult(Update(moved, 10, {"loss": 0.0})) for site in tasks}


@pytest.mark.parametrize("name", ["fedavg", "fedavgm", "fedadam"])
def test_each_round_steps_with_server_lr_times_the_schedule(name):
    """With a constant change of +1 a round, FedAvg moves ``lr``, FedAvgM ``lr * m`` and
    FedAdam ``lr * m / (sqrt(v) + tau)``; each with the round's decayed ``lr``."""
    rounds, lr = 4, 0.5
    config = StrategyConfig(name=name, server_lr=lr, server_lr_decay="linear", server_lr_floor=0.2)
    moves: list[float] = []
    previous = [np.zeros(1, np.float32)]

    def record(round_, params):
        moves.append(float(params[0][0] - previous[0][0]))
        previous[0] = params[0].copy()

    run_rounds(
        from_config(config), _FixedChange(), previous, {"a": 10}, rounds, seed=0, on_round=record
    )
    factors = [1.0, 1 - 0.8 / 3, 1 - 1.6 / 3, 0.2]
    m = v = 0.0
    for round_, factor in enumerate(factors):
        if name == "fedavg":
            step = 1.0
        elif name == "fedavgm":
            m = 0.9 * m + 1.0
            step = m
        else:
            m = 0.9 * m + 0.1
            v = 0.99 * (v or 1e-6) + 0.01
            step = m / (math.sqrt(v) + 1e-3)
        assert moves[round_] == pytest.approx(lr * factor * step, rel=1e-5)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_takes_the_schedule_from_its_config(name):
    config = StrategyConfig(name=name, server_lr_decay="cosine", server_lr_floor=0.3)
    assert from_config(config).schedule == ServerSchedule("cosine", 0.3)


def test_a_resumed_run_steps_as_an_uninterrupted_one():
    """The schedule depends on the round alone, so a run resumed from a checkpoint releases
    what an uninterrupted run does."""
    model, shards = toy_model(), toy_shards()
    rows = {s.name: len(s.y) for s in shards}
    config = StrategyConfig(name="fedadam", server_lr=0.05, server_lr_decay="cosine")
    strategy = from_config(config)
    saved = {}

    def checkpoint(round_, params):
        saved[round_] = ([a.copy() for a in params], strategy.state_dict())

    transport = InProcessTransport(model, shards, toy_plan)
    whole = run_rounds(strategy, transport, get_params(model), rows, 6, seed=4, on_round=checkpoint)
    constant = run_rounds(
        from_config(StrategyConfig(name="fedadam", server_lr=0.05)),
        InProcessTransport(model, shards, toy_plan),
        get_params(model),
        rows,
        6,
        seed=4,
    )
    assert max_abs_diff(whole.params, constant.params) > 1e-4  # the schedule changed the run
    params, state = saved[3]
    resumed = run_rounds(
        from_config(config),
        InProcessTransport(model, shards, toy_plan),
        params,
        rows,
        6,
        seed=4,
        first_round=4,
        resume=state,
    )
    assert max_abs_diff(resumed.params, whole.params) < 1e-7

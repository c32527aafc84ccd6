"""The model a federated run releases: the last round's, or the mean over its last rounds,
carried through a checkpoint so a resumed run releases what an uninterrupted one would."""

import numpy as np
import pytest

from fedsec.engines.inprocess import InProcessTransport, run_federated
from fedsec.fl.loop import run_rounds
from fedsec.fl.release import TailAverage
from fedsec.fl.strategies import FedAdam
from fedsec.fl.strategies.base import StrategyState
from fedsec.training.params import get_params, max_abs_diff
from tests.engines.toy_federation import toy_model, toy_plan, toy_shards

ROUNDS = 6


def _run(release_average: float, **kwargs):
    model, shards = toy_model(), toy_shards()
    seen: dict[int, list[np.ndarray]] = {}
    result = run_federated(
        model,
        get_params(model),
        shards,
        toy_plan,
        FedAdam(0.05),
        ROUNDS,
        seed=4,
        on_round=lambda r, p: seen.__setitem__(r, [a.copy() for a in p]),
        release_average=release_average,
        **kwargs,
    )
    return result, seen


def test_without_averaging_the_last_round_model_is_released_exactly():
    result, seen = _run(0.0)
    assert max_abs_diff(result.params, seen[ROUNDS]) == 0.0


def test_the_released_model_is_the_mean_of_the_last_rounds_models():
    result, seen = _run(0.5)  # ceil(0.5 * 6) = rounds 4, 5 and 6
    expected = [np.mean([seen[r][i] for r in (4, 5, 6)], axis=0) for i in range(len(seen[6]))]
    assert max_abs_diff(result.params, expected) < 1e-6
    assert max_abs_diff(result.params, seen[ROUNDS]) > 1e-4  # not the last model
    assert all(p.dtype == np.float32 for p in result.params)


def test_a_run_resumed_from_a_checkpoint_releases_what_an_uninterrupted_one_would():
    model, shards = toy_model(), toy_shards()
    rows = {s.name: len(s.y) for s in shards}
    saved: dict[int, tuple[list[np.ndarray], StrategyState]] = {}
    strategy = FedAdam(0.05)

    def checkpoint(round_, params):  # what a coordinator writes after each round
        saved[round_] = ([a.copy() for a in params], strategy.state_dict())

    transport = InProcessTransport(model, shards, toy_plan)
    whole = run_rounds(
        strategy,
        transport,
        get_params(model),
        rows,
        ROUNDS,
        seed=4,
        on_round=checkpoint,
        release_average=0.5,
    )
    params, state = saved[5]  # interrupted after round 5: rounds 4 and 5 averaged so far
    assert state.meta["release_count"] == 2 and "release" in state.tensors
    resumed = run_rounds(
        FedAdam(0.05),
        InProcessTransport(model, shards, toy_plan),
        params,
        rows,
        ROUNDS,
        seed=4,
        first_round=6,
        resume=state,
        release_average=0.5,
    )
    assert max_abs_diff(resumed.params, whole.params) < 1e-7


def test_a_checkpoint_without_averaging_holds_no_release_state():
    strategy = FedAdam(0.05)
    model, shards = toy_model(), toy_shards()
    rows = {s.name: len(s.y) for s in shards}
    run_rounds(
        strategy, InProcessTransport(model, shards, toy_plan), get_params(model), rows, 2, seed=0
    )
    state = strategy.state_dict()
    assert "release" not in state.tensors and "release_count" not in state.meta


@pytest.mark.parametrize(("share", "first"), [(0.0, 11), (0.25, 8), (0.5, 6), (1.0, 1)])
def test_the_share_picks_the_last_rounds(share, first):
    assert TailAverage.of(share, 10).first_round == first


def test_a_saved_average_that_does_not_add_up_is_refused():
    average = TailAverage.of(0.5, 10)
    with pytest.raises(ValueError, match="2 models averaged but mean is None"):
        average.restore(None, 2)
    with pytest.raises(ValueError, match="within"):
        TailAverage.of(1.5, 10)

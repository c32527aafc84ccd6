"""A robust rule's memory between rounds survives a checkpoint: a run stopped after round k
and taken up from its strategy's state (through JSON, as a deployed coordinator's checkpoint
keeps it) makes every later decision of the run that never stopped."""

import json

import numpy as np
import pytest

from fedsec.fl.aggregation.base import SiteResult
from fedsec.fl.robustness import RobustAggregation, RobustnessConfig, build_rule
from fedsec.fl.strategies.base import StrategyState
from fedsec.fl.strategies.fedavg import FedAvg
from fedsec.training.plan import Update

SITES = ["org1", "org2", "org3", "org4", "org5"]
SHAPES = [(8, 6), (8,), (3, 8), (3,)]  # a small network ending in a linear layer
ROUNDS, STOP = 14, 7


def strategy(rule: str) -> FedAvg:
    aggregation = RobustAggregation(
        build_rule(RobustnessConfig(rule=rule)), dict.fromkeys(SITES, 100)
    )
    return FedAvg(1.0, aggregation)


def results(round_: int, params: list[np.ndarray]) -> dict[str, SiteResult]:
    """Honest sites step toward a common optimum with noise of their own, lowering the benign
    output's bias; org2 sends the opposite of its change (a sign flip: it raises the benign
    bias alone, as a label flipper does)."""
    rng = np.random.default_rng(round_)
    target = [np.full(s, 0.5, dtype=np.float32) for s in SHAPES]
    target[-1][0] = -1.0
    out = {}
    for site in SITES:
        pairs = zip(target, params, strict=True)
        change = [0.2 * (t - p) + rng.normal(0, 0.02, p.shape) for t, p in pairs]
        if site == "org2":
            change = [-c for c in change]
        trained = [(p + c).astype(np.float32) for p, c in zip(params, change, strict=True)]
        out[site] = SiteResult(Update(trained, 100, {"loss": 0.0}))
    return out


def run(s: FedAvg, params: list[np.ndarray], first: int, last: int) -> list[np.ndarray]:
    for round_ in range(first, last + 1):
        params, _ = s.aggregate(round_, params, results(round_, params))
    return params


def through_json(state: StrategyState) -> StrategyState:
    """What a checkpoint gives back: JSON values, arrays as float32 copies."""
    tensors = {k: [np.array(a, dtype=np.float32) for a in v] for k, v in state.tensors.items()}
    return StrategyState(tensors, json.loads(json.dumps(state.meta)))


@pytest.mark.parametrize("rule", ["pair_conflict", "cosine_filter", "flame", "norm_bound"])
def test_a_rule_taken_up_from_its_state_decides_as_the_run_that_never_stopped(rule):
    start = [np.zeros(s, dtype=np.float32) for s in SHAPES]
    whole = strategy(rule)
    final = run(whole, start, 1, ROUNDS)

    first = strategy(rule)
    middle = run(first, start, 1, STOP)
    second = strategy(rule)
    second.load_state(through_json(first.state_dict()))
    resumed = run(second, middle, STOP + 1, ROUNDS)

    assert all(np.array_equal(a, b) for a, b in zip(final, resumed, strict=True))
    later = [r.to_json() for r in whole.aggregation.log[STOP:]]
    assert [r.to_json() for r in second.aggregation.log] == later


def test_a_fresh_rule_decides_otherwise_so_the_state_is_what_carries_it():
    """Without the state, pair_conflict has no evidence yet after the stop."""
    start = [np.zeros(s, dtype=np.float32) for s in SHAPES]
    whole = strategy("pair_conflict")
    final = run(whole, start, 1, ROUNDS)
    excluded = [r.to_json()["excluded"] for r in whole.aggregation.log]
    assert excluded[STOP:] == [[]] * 2 + [["org2"]] * 5  # left out from round 10
    first = strategy("pair_conflict")
    middle = run(first, start, 1, STOP)
    fresh = run(strategy("pair_conflict"), middle, STOP + 1, ROUNDS)
    assert not all(np.array_equal(a, b) for a, b in zip(final, fresh, strict=True))


@pytest.mark.parametrize(
    "meta, why",
    [
        ({"defence": "x"}, "defence 'x' is not a table"),
        (
            {"defence": {"rule": "flame", "rng": {}}},
            "defence state of rule 'flame', not 'pair_conflict'",
        ),
        ({"defence": {"rule": "pair_conflict", "recent": 3}}, "pair_conflict state: malformed"),
    ],
)
def test_a_malformed_defence_state_is_refused_with_its_reason(meta, why):
    with pytest.raises(ValueError, match=why):
        strategy("pair_conflict").load_state(StrategyState({}, {"step": 1} | meta))


def test_a_strategy_without_a_defence_refuses_one_in_its_state():
    state = StrategyState({}, {"step": 1, "defence": {"rule": "pair_conflict"}})
    with pytest.raises(ValueError, match="a defence state this run does not keep"):
        FedAvg(1.0).load_state(state)

"""Which aggregation a run under threat uses: the robust rule when configured, else the
scenario's own (protected) mean, so an attack against secure aggregation is measured as is."""

import numpy as np

from fedsec.engines.threats import _strategy
from fedsec.fl.aggregation import ProtectedMean, WeightedMean
from fedsec.fl.robustness import PairConflict, RobustAggregation
from fedsec.scenarios.loading import load_scenario

ATTACK = ['adversary.orgs=["org2"]', "adversary.kind=sign_flip"]


def strategy_for(*sets):
    scenario = load_scenario("unsw-5org-disjoint", [*ATTACK, *sets])
    rows = {f"org{i}": 100 for i in range(1, 6)}
    return _strategy(scenario, None, rows, [], None, None, None)


def test_an_attack_on_secure_aggregation_goes_through_the_protected_mean():
    assert isinstance(strategy_for("privacy.secure_aggregation=true").aggregation, ProtectedMean)
    assert isinstance(strategy_for().aggregation, WeightedMean)


def test_a_robustness_section_puts_its_rule_under_the_configured_strategy():
    strategy = strategy_for("robustness={}", "strategy.name=fedavg")
    assert strategy.name == "fedavg"
    assert isinstance(strategy.aggregation, RobustAggregation)
    assert isinstance(strategy.aggregation.rule, PairConflict)
    assert strategy.aggregation.registered == {f"org{i}": 100 for i in range(1, 6)}


def test_flame_draws_its_noise_from_the_runs_seed():
    def noise(seed):
        rule = strategy_for("robustness.rule=flame", f"seed={seed}").aggregation.rule
        deltas = np.vstack([np.ones((4, 3)), -np.ones((1, 3))])
        return rule.combine(deltas, np.ones(5), np.zeros(3), [f"org{i}" for i in range(5)]).delta

    np.testing.assert_array_equal(noise(1), noise(1))
    assert not np.array_equal(noise(1), noise(2))

"""Which aggregation a run under threat uses: the robust rule when configured, else the
scenario's own (protected) mean, so an attack against secure aggregation is measured as is."""

from fedsec.engines.threats import _strategy
from fedsec.fl.aggregation import ProtectedMean, WeightedMean
from fedsec.fl.robustness import NormBound, RobustAggregation
from fedsec.scenarios.config import load_scenario

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
    assert isinstance(strategy.aggregation.rule, NormBound)
    assert strategy.aggregation.registered == {f"org{i}": 100 for i in range(1, 6)}

"""The [gate] section of a scenario: every honest organization's acceptance gate, in-process."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import load_scenario


def test_a_gate_section_is_read_and_written_back():
    scenario = load_scenario("unsw-5org-disjoint", ["gate.enabled=true", "gate.confidence=0.95"])
    assert scenario.gate.enabled and scenario.gate.confidence == 0.95
    assert scenario.gate.action == "flag" and scenario.gate.warmup_rounds == 10
    assert "[gate]" in scenario.to_toml()
    assert load_scenario("unsw-5org-disjoint").gate is None


@pytest.mark.parametrize(
    ("name", "sets", "message"),
    [
        ("unsw-5org-disjoint", ['evaluation.arms=["local"]'], "federated arm"),
        ("unsw-5org-anomaly", [], "classification"),
        ("unsw-5org-disjoint", ["gate.confidence=1.5"], "confidence"),
        ("unsw-5org-disjoint", ["gate.patience=0"], "patience"),
    ],
)
def test_a_gate_that_cannot_run_is_refused_naming_the_field(name, sets, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario(name, ["gate.enabled=true", *sets])

"""``[model] kind = "xgboost"``: classification only, and refused with what it cannot honour."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import load_scenario

TREES = ['model.kind="xgboost"']


def test_trees_are_a_classification_model_family():
    scenario = load_scenario("nslkdd-5org-disjoint", TREES)
    assert scenario.model.kind == "xgboost"
    assert (scenario.model.max_depth, scenario.model.eta, scenario.model.max_bin) == (6, 0.3, 4096)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("privacy.secure_aggregation=true", "gradient histograms in clear"),
        ("privacy.sample_dp.enabled=true", "privacy.sample_dp"),
        ("gate.enabled=true", "gate"),
    ],
)
def test_what_trees_cannot_honour_is_refused_with_the_reason(override, named):
    with pytest.raises(ConfigError, match=named):
        load_scenario("nslkdd-5org-disjoint", [*TREES, override])


def test_trees_are_refused_for_other_tasks():
    with pytest.raises(ConfigError, match="for task \"classification\", not 'anomaly'"):
        load_scenario("nslkdd-anomaly", TREES)

"""The task dimension of scenarios: anomaly defaults, validation, supervised untouched."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import builtin_names, load_scenario
from fedsec.tasks.anomaly.arms import arm_names

ANOMALY = ["unsw-5org-anomaly", "toniot-devices-anomaly", "cicids-5org-anomaly", "nslkdd-anomaly"]


def test_anomaly_builtins_and_their_arms():
    assert set(ANOMALY) <= set(builtin_names())
    for name in ANOMALY:
        scenario = load_scenario(name)
        assert scenario.task == "anomaly" and scenario.anomaly is not None
        assert arm_names(scenario) == [
            "centralized_ae",
            "local_ae",
            "federated_ae",
            "centralized_svdd",
            "local_svdd",
            "federated_svdd",
            "local_iforest",
            "centralized_iforest",
        ]
    assert load_scenario("unsw-5org-disjoint").task == "classification"
    assert not hasattr(load_scenario("unsw-5org-disjoint"), "anomaly")


def test_anomaly_task_without_a_section_gets_the_defaults(tmp_path):
    scenario = load_scenario("unsw-5org-disjoint", ['task="anomaly"'])
    assert scenario.anomaly.models == ["ae", "svdd"] and scenario.anomaly.iforest
    path = tmp_path / "resolved.toml"
    path.write_text(scenario.to_toml())
    assert load_scenario(str(path)) == scenario


@pytest.mark.parametrize(
    "name, override, message",
    [
        ("unsw-5org-anomaly", 'anomaly.models=["pca"]', "anomaly.models"),
        ("unsw-5org-anomaly", "anomaly.models=[]", "anomaly.models"),
        ("unsw-5org-anomaly", 'anomaly.models=["svdd", "svdd"]', "twice"),
        ("unsw-5org-anomaly", 'anomaly.threshold="median"', "anomaly.threshold"),
        ("unsw-5org-anomaly", "anomaly.error_floor=1.5", "anomaly.error_floor"),
        ("unsw-5org-anomaly", 'task="clustering"', "task"),
        ("unsw-5org-disjoint", "anomaly.bottleneck=4", 'needs task = "anomaly"'),
    ],
)
def test_bad_anomaly_settings_are_rejected_with_the_field_named(name, override, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario(name, [override])

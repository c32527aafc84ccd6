"""``Scenario`` is a union of the task scenarios, discriminated on ``task``: each task's model
holds its own sections, refuses another task's by name, and round-trips through its TOML."""

import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.config import (
    AnomalyScenario,
    ClassificationScenario,
    LogsScenario,
    parse_scenario,
)
from fedsec.scenarios.loading import builtin_names, load_scenario

MODELS = {
    "classification": ClassificationScenario,
    "anomaly": AnomalyScenario,
    "logs": LogsScenario,
}


def test_each_builtin_loads_as_its_tasks_model_and_round_trips_through_its_toml(tmp_path):
    for name in builtin_names():
        scenario = load_scenario(name)
        assert type(scenario) is MODELS[scenario.task]
        path = tmp_path / f"{name}.toml"
        path.write_text(scenario.to_toml())
        assert load_scenario(str(path)) == scenario


def test_a_scenario_without_task_is_classification():
    raw = {"name": "x", "data": {"sources": [{"format": "unsw-nb15", "paths": ["a.csv"]}]}}
    scenario = parse_scenario(raw)
    assert type(scenario) is ClassificationScenario and scenario.view == "native"


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("unsw-5org-disjoint", ["task=graphs"], r"\n  task: Input should be 'classification'"),
        ("unsw-5org-disjoint", ["logs.top_k=3"], r'a \[logs\] section needs task = "logs"'),
        ("unsw-5org-disjoint", ["task=logs"], r'a \[data\] section needs task = "classification"'),
        ("hdfs-5org", ["anomaly.iforest=false"], r'an \[anomaly\] section needs task = "anomaly"'),
        ("hdfs-5org", ["data.view=native"], r'a \[data\] section needs task = "classification"'),
        ("unsw-5org-anomaly", ["logs.top_k=3"], r'a \[logs\] section needs task = "logs"'),
        # the task tag pydantic adds to each path is not shown: the field is named as written
        ("unsw-5org-disjoint", ["split.test_size=2"], r"\n  split\.test_size: Input should be"),
        ("unsw-5org-anomaly", ["anomaly.bottleneck=0"], r"\n  anomaly\.bottleneck: Input should"),
        ("hdfs-5org", ["logs.colour=1"], r"\n  logs\.colour: Extra inputs are not permitted"),
    ],
)
def test_bad_configs_name_the_section_or_field(name, overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario(name, overrides)


def test_a_logs_scenario_without_its_section_says_so(tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text('name = "bare"\ntask = "logs"\n')
    with pytest.raises(ConfigError, match='logs: field required when task = "logs"'):
        load_scenario(str(path))
    path.write_text('name = "bare"\n')
    with pytest.raises(ConfigError, match="data: field required"):
        load_scenario(str(path))

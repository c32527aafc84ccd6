import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.config import TASKS as SCENARIO_TASKS
from fedsec.scenarios.loading import builtin_names, load_scenario
from fedsec.tasks.base import Task
from fedsec.tasks.registry import TASKS, task_named, task_of


def test_every_task_a_scenario_can_name_is_registered():
    names = SCENARIO_TASKS
    assert sorted(names) == sorted(TASKS)
    for name in names:
        task = task_named(name)
        assert isinstance(task, Task) and task.name == name


def test_every_builtin_scenario_runs_through_its_own_task():
    for name in builtin_names():
        scenario = load_scenario(name)
        assert task_of(scenario).name == scenario.task


def test_an_unknown_task_name_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"unknown task 'graphs' \(known: classification"):
        task_named("graphs")


def test_each_bundle_kind_names_exactly_one_task():
    kinds = [kind for task in TASKS.values() for kind in task.bundle_kinds()]
    assert len(set(kinds)) == len(kinds)
    assert "tree-classifier" in TASKS["classification"].bundle_kinds()

"""Every task by name: the one place a new task is registered."""

from __future__ import annotations

from fedsec.core.errors import ConfigError
from fedsec.scenarios.config import Scenario
from fedsec.tasks.anomaly.task import AnomalyTask
from fedsec.tasks.base import Task
from fedsec.tasks.classification.task import ClassificationTask
from fedsec.tasks.logs.task import LogsTask

TASKS: dict[str, Task] = {
    task.name: task for task in (ClassificationTask(), AnomalyTask(), LogsTask())
}


def task_named(name: str) -> Task:
    """The task called ``name`` (a scenario's ``task``)."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r} (known: {', '.join(TASKS)})") from None


def task_of(scenario: Scenario) -> Task:
    """The task that runs ``scenario``."""
    return task_named(scenario.task)

"""The NVFlare registry's tables are keyed by the task registry's names.

engines.nvflare sits below tasks, so it cannot read :data:`fedsec.tasks.registry.TASKS`
itself: a task added there without its deployed models would only fail when a job runs.
"""

from __future__ import annotations

from fedsec.engines.nvflare.deployable import DEPLOYABLE
from fedsec.engines.nvflare.registry import JOB_MODELS, SITE_MODELS
from fedsec.tasks.registry import TASKS

#: Coordinator models that are not a task's own: a boosted-tree classification job's.
MODEL_KINDS = {"trees"}


def test_every_task_has_a_site_model():
    assert set(SITE_MODELS) == set(TASKS)


def test_every_task_has_a_coordinator_model():
    assert set(JOB_MODELS) - MODEL_KINDS == set(TASKS)
    assert set(JOB_MODELS) >= MODEL_KINDS


def test_the_deployable_tasks_are_the_registered_ones():
    assert set(DEPLOYABLE) == set(SITE_MODELS) == set(TASKS)

"""The coordinator's start-up repair of its job store (a system component of its kit).

NVFlare 2.9 runs a job in a process below the coordinator's; when the coordinator dies, that
process ends with it, but the job store still records the job as ``RUNNING`` and a restarted
coordinator never corrects it: the job can then neither finish, be aborted ("not running") nor be
deleted ("running"). This component runs once when the coordinator starts, before it schedules
anything, and marks every job the store still holds as ``RUNNING`` or ``DISPATCHED`` as
``FINISHED:ABANDONED`` (NVFlare's own status and routine for it). fedsec's checkpoints let such a
job be resumed: ``fedsec job submit SCENARIO --resume JOB``.
"""

from __future__ import annotations

from nvflare.apis.event_type import EventType
from nvflare.apis.fl_component import FLComponent
from nvflare.apis.fl_context import FLContext


class StaleJobRecovery(FLComponent):
    def handle_event(self, event_type: str, fl_ctx: FLContext) -> None:
        if event_type != EventType.SYSTEM_BOOTSTRAP:
            return
        runner = getattr(fl_ctx.get_engine(), "job_runner", None)
        if runner is None:
            self.log_warning(fl_ctx, "no job runner: jobs left running by a crash stay RUNNING")
            return
        runner.update_unfinished_jobs(fl_ctx)

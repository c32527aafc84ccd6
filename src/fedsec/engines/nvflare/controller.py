"""The coordinator's NVFlare workflow: :class:`Coordinator` over NVFlare broadcasts.

The job's ``config_fed_server.json`` names this class with one argument, ``job`` (a
:class:`~fedsec.engines.nvflare.plan.JobSpec` as data). Results go to ``fedsec/`` in the job's
run directory; a failed job also stops with the reason (``system_panic``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from nvflare.apis.client import Client
from nvflare.apis.controller_spec import Task
from nvflare.apis.fl_constant import ReturnCode
from nvflare.apis.fl_context import FLContext
from nvflare.apis.impl.controller import Controller
from nvflare.apis.shareable import Shareable
from nvflare.apis.signal import Signal
from pydantic import ValidationError

from fedsec.engines.nvflare.coordinator import Coordinator, JobFailed, JobResult, Refusal, Reply
from fedsec.engines.nvflare.hekeys import coordinator_context
from fedsec.engines.nvflare.keyguard import check_kit
from fedsec.engines.nvflare.plan import JobSpec, explain
from fedsec.engines.nvflare.results import RESULT_DIR, write_result
from fedsec.keyfiles import ExposedSecretError
from fedsec.learning.he import HeError


class FlareTransport:
    """One broadcast per task; replies of sites that answered in time."""

    def __init__(self, controller: Controller, fl_ctx: FLContext, abort: Signal) -> None:
        self.controller, self.fl_ctx, self.abort = controller, fl_ctx, abort

    def exchange(
        self, task: str, data: dict[str, Any], targets: list[str], timeout: float
    ) -> dict[str, Reply]:
        shareable = Shareable()
        shareable.update(data)
        job = Task(name=task, data=shareable, timeout=max(1, math.ceil(timeout)))
        self.controller.broadcast_and_wait(
            job, self.fl_ctx, targets=targets, min_responses=len(targets), abort_signal=self.abort
        )
        if self.abort.triggered:
            raise JobFailed("the job was aborted")
        replies: dict[str, Reply] = {}
        for client_task in job.client_tasks:
            result = client_task.result
            if result is None:
                continue
            code = result.get_return_code()
            if code == ReturnCode.OK:
                replies[client_task.client.name] = {
                    k: v for k, v in result.items() if not str(k).startswith("__")
                }
            elif code == ReturnCode.BAD_TASK_DATA:  # the executor's answer to a refused task
                replies[client_task.client.name] = Refusal(result.get("error") or code)
            else:
                replies[client_task.client.name] = f"{code}: {result.get('error', '')}".strip()
        return replies


class FedsecController(Controller):
    def __init__(self, job: dict[str, Any], task_check_period: float = 0.2) -> None:
        super().__init__(task_check_period=task_check_period)
        self.job = job
        self.spec: JobSpec | None = None
        self.refusal = ""
        self.he_context = None

    def start_controller(self, fl_ctx: FLContext) -> None:
        startup = fl_ctx.get_engine().get_workspace().get_startup_kit_dir()
        try:
            check_kit(Path(startup).parent)
        except ExposedSecretError as error:
            self.refusal = f"fedsec job refused by the coordinator: {error}"
            return
        try:
            self.spec = JobSpec.model_validate(self.job)
        except ValidationError as error:
            self.refusal = f"fedsec job refused by the coordinator: {explain(error)}"
            return
        if self.spec.privacy.homomorphic_encryption:
            try:
                self.he_context = coordinator_context(Path(startup))
            except HeError as error:
                self.spec, self.refusal = None, f"fedsec job refused by the coordinator: {error}"

    def control_flow(self, abort_signal: Signal, fl_ctx: FLContext) -> None:
        sites = [c.name for c in fl_ctx.get_engine().get_clients()]
        if self.spec is None:
            self._save(JobResult(sites=sites, error=self.refusal), fl_ctx)
            self.system_panic(self.refusal, fl_ctx)
            return
        transport = FlareTransport(self, fl_ctx, abort_signal)
        log = lambda m: self.log_info(fl_ctx, m)  # noqa: E731
        result = Coordinator(self.spec, transport, sites, log, self.he_context).run()
        self._save(result, fl_ctx)
        if result.error:
            self.system_panic(f"fedsec job failed: {result.error}", fl_ctx)

    def _save(self, result: JobResult, fl_ctx: FLContext) -> None:
        workspace = fl_ctx.get_engine().get_workspace()
        write_result(result, Path(workspace.get_run_dir(fl_ctx.get_job_id())) / RESULT_DIR)

    def stop_controller(self, fl_ctx: FLContext) -> None:
        pass

    def process_result_of_unknown_task(
        self, client: Client, task_name: str, client_task_id: str, result: Shareable, fl_ctx
    ) -> None:
        self.log_warning(fl_ctx, f"ignored a late result of {task_name} from {client.name}")

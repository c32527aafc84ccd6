"""The coordinator's NVFlare workflow: :class:`Coordinator` over NVFlare broadcasts.

The job's ``config_fed_server.json`` names this class with the argument ``job`` (a
:class:`~fedsec.engines.nvflare.plan.JobSpec` as data) and, for a resumed job, ``resume`` (the
interrupted job's id). Results go to ``fedsec/`` in the job's run directory; a failed job also
stops with the reason (``system_panic``). Every round is checkpointed under the coordinator's
workspace (``fedsec-checkpoints/``); the job's progress is part of its ``show_stats`` answer
(group ``fedsec_progress``), which admins with the ``view`` right may read.
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
from nvflare.widgets.info_collector import InfoCollector
from pydantic import ValidationError

from fedsec.core.keyfiles import ExposedSecretError
from fedsec.engines.nvflare.checkpoint import CheckpointError, check_job_id
from fedsec.engines.nvflare.checkpoint_store import CHECKPOINT_DIR
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.hekeys import coordinator_context
from fedsec.engines.nvflare.keyguard import check_kit
from fedsec.engines.nvflare.plan import JobSpec, explain
from fedsec.engines.nvflare.progress import PROGRESS_TOPIC, Recorder
from fedsec.engines.nvflare.records import JobFailed, JobResult, Refusal, Reply
from fedsec.engines.nvflare.results import RESULT_DIR, write_result
from fedsec.engines.nvflare.trees_job import TreeCoordinator, kit_server_tls
from fedsec.fl.privacy.he import HeError


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
    def __init__(
        self, job: dict[str, Any], task_check_period: float = 0.2, resume: str = ""
    ) -> None:
        super().__init__(task_check_period=task_check_period)
        self.job = job
        self.resume = resume
        self.spec: JobSpec | None = None
        self.refusal = ""
        self.he_context = None
        self.recorder: Recorder | None = None

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
        try:
            recorder = self.recorder = self._recorder(fl_ctx, log)
            resume = recorder.resume()
        except (CheckpointError, OSError) as error:
            why = f"cannot resume job {self.resume}: {error}"
            self._save(JobResult(sites=sites, error=why), fl_ctx)
            self.system_panic(f"fedsec job refused by the coordinator: {why}", fl_ctx)
            return
        coordinator = self._coordinator(transport, sites, log, recorder, fl_ctx)
        result = coordinator.run(resume)
        self._save(result, fl_ctx)
        recorder.finish(result)
        if result.error:
            self.system_panic(f"fedsec job failed: {result.error}", fl_ctx)

    def _coordinator(
        self, transport: FlareTransport, sites: list[str], log: Any, recorder: Recorder, fl_ctx
    ) -> Coordinator:
        """The job's coordinator: a tree job's runs its kit's XGBoost federated server."""
        assert self.spec is not None
        if self.spec.model_key != "trees":
            return Coordinator(
                self.spec, transport, sites, log, self.he_context, on_round=recorder.after_round
            )
        startup = Path(fl_ctx.get_engine().get_workspace().get_startup_kit_dir())
        tls = kit_server_tls(startup)
        return TreeCoordinator(
            self.spec, transport, sites, log, server_tls=tls, on_phase=recorder.progress.enter
        )

    def _recorder(self, fl_ctx: FLContext, log: Any) -> Recorder:
        """Checkpoints under the coordinator's workspace: NVFlare archives and removes run dirs."""
        root = Path(fl_ctx.get_engine().get_workspace().get_root_dir()) / CHECKPOINT_DIR
        if self.resume:
            check_job_id(self.resume)
        return Recorder(self.spec, root, fl_ctx.get_job_id(), self.resume, log)

    def handle_event(self, event_type: str, fl_ctx: FLContext) -> None:
        super().handle_event(event_type, fl_ctx)
        if event_type == InfoCollector.EVENT_TYPE_GET_STATS:
            collector = fl_ctx.get_prop(InfoCollector.CTX_KEY_STATS_COLLECTOR)
            if collector is not None:
                collector.set_info(PROGRESS_TOPIC, self._progress())

    def _progress(self) -> dict[str, Any]:
        if self.recorder is None:
            phase, rounds = ("refused", 0) if self.spec is None else ("starting", self.spec.rounds)
            return {"phase": phase, "rounds": rounds, "round": 0, "checkpoint": 0, "history": []}
        return self.recorder.progress.to_json()

    def _save(self, result: JobResult, fl_ctx: FLContext) -> None:
        workspace = fl_ctx.get_engine().get_workspace()
        write_result(result, Path(workspace.get_run_dir(fl_ctx.get_job_id())) / RESULT_DIR)

    def stop_controller(self, fl_ctx: FLContext) -> None:
        pass

    def process_result_of_unknown_task(
        self, client: Client, task_name: str, client_task_id: str, result: Shareable, fl_ctx
    ) -> None:
        self.log_warning(fl_ctx, f"ignored a late result of {task_name} from {client.name}")

"""A fedsec job: configuration only, referencing classes installed with fedsec.

The job folder holds ``meta.json`` and one app whose configs name fedsec's controller (with the
job's :class:`~fedsec.engines.nvflare.plan.JobSpec` and, to resume an interrupted job, its id)
and fedsec's executor (no arguments). There is no ``custom/`` code. Submitting signs it with the
admin's startup kit; sites verify the signature against the project CA before deploying it.
:func:`run_job` follows the job round by round and says clearly when the coordinator went away.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fedsec.core import atomic
from fedsec.engines.nvflare.admin import CoordinatorUnreachable, Link, lost
from fedsec.engines.nvflare.attestation import RELEASE_KEY, new_release, release_of
from fedsec.engines.nvflare.checkpoint import CheckpointError, check_job_id
from fedsec.engines.nvflare.plan import JobSpec
from fedsec.engines.nvflare.progress import PROGRESS_TOPIC
from fedsec.engines.nvflare.provision import CONTROLLER_PATH, EXECUTOR_PATH
from fedsec.engines.nvflare.records import JobResult
from fedsec.engines.nvflare.results import RESULT_DIR, DeploymentError, read_result
from fedsec.engines.nvflare.site import TASKS

APP = "app"
CLIENT_CONFIG = "config_fed_client.json"
ABANDONED = "FINISHED:ABANDONED"
#: NVFlare setting (read from the app's config): 0 makes a site send the arrays of its replies
#: inside the reply instead of leaving them for the coordinator to download from the site
#: afterwards. A site that died between announcing a reply and serving its download would
#: otherwise make the coordinator's job process exit with code 1 once it gave up on it (at the
#: job's end at the latest), so NVFlare marked a job FINISHED:EXECUTION_EXCEPTION whose
#: rounds all completed without that site.
INLINE_ARRAYS = "np_download_chunk_size"


class JobInterrupted(DeploymentError):
    """The job stopped with the coordinator; its progress up to then is checkpointed."""

    def __init__(self, job_id: str, reason: str, progress: dict[str, Any] | None) -> None:
        self.job_id, self.progress = job_id, progress or {}
        super().__init__(f"job {job_id}: {reason}")

    @property
    def checkpoint(self) -> int:
        """The newest round known to be checkpointed (0: none seen)."""
        return int(self.progress.get("checkpoint", 0))


def build_job(
    spec: JobSpec,
    directory: Path,
    job: dict[str, Any] | None = None,
    resume: str = "",
    release: str = "",
) -> Path:
    """Write the job folder; ``job`` overrides the controller's argument (tests of refusals);
    ``resume`` names an interrupted job whose newest checkpoint this one goes on from;
    ``release`` (a fresh nonce by default) is what each site signs back with its evaluation."""
    directory = Path(directory)
    poll = spec.deployment.poll_interval
    args = {
        "job": job if job is not None else spec.model_dump(mode="json"),
        "task_check_period": min(poll, 0.2),
    }
    if resume:
        args["resume"] = check_job_id(resume)
    server = {
        "format_version": 2,
        "server": {"task_request_interval": poll},
        "workflows": [{"id": "fedsec", "path": CONTROLLER_PATH, "args": args}],
        "components": [],
    }
    client = {
        "format_version": 2,
        "default_task_fetch_interval": poll,
        INLINE_ARRAYS: 0,
        RELEASE_KEY: release or new_release(),
        "executors": [{"tasks": list(TASKS), "executor": {"path": EXECUTOR_PATH, "args": {}}}],
        "task_data_filters": [],
        "task_result_filters": [],
        "components": [],
    }
    meta = {
        "name": spec.name,
        "resource_spec": {},
        "deploy_map": {APP: ["@ALL"]},
        "min_clients": spec.deployment.min_sites,
    }
    config = directory / APP / "config"
    atomic.write_json(directory / "meta.json", meta)
    atomic.write_json(config / "config_fed_server.json", server)
    atomic.write_json(config / CLIENT_CONFIG, client)
    return directory


@contextlib.contextmanager
def session(admin_kit: Path, username: str, timeout: float = 30.0) -> Iterator[Any]:
    """An authenticated admin session (mutual TLS with the admin's startup kit)."""
    from nvflare.fuel.flare_api.flare_api import new_secure_session

    try:
        admin = new_secure_session(username, str(Path(admin_kit).resolve()), timeout=timeout)
    except Exception as error:
        raise DeploymentError(f"cannot reach the coordinator with {admin_kit}: {error}") from error
    try:
        yield admin
    finally:
        admin.close()


def submit(admin: Any, job_dir: Path) -> str:
    """The id the coordinator gave the job, checked: it names folders on this machine."""
    try:
        job_id = admin.submit_job(str(Path(job_dir).resolve()))
    except Exception as error:
        if lost(error):
            raise
        raise DeploymentError(f"the coordinator refused the job: {error}") from error
    return coordinator_job_id(job_id)


def coordinator_job_id(job_id: Any) -> str:
    """``job_id`` as the coordinator sent it, when it is a job id (letters, digits, - and _):
    a hostile coordinator's ``../x`` or absolute path would name a folder outside the run's."""
    try:
        return check_job_id(job_id)
    except CheckpointError as error:
        raise DeploymentError(f"the coordinator answered with a bad job id: {error}") from None


def check_resumable(admin: Any, job_id: str) -> None:
    """Refuse to resume a job that completed (its checkpoints are gone: nothing is left to do)
    or that still runs (two jobs would go on from one checkpoint). A job the coordinator's job
    store no longer knows may still have checkpoints: the coordinator decides."""
    try:
        status = str(admin.get_job_meta(job_id).get("status", ""))
    except Exception as error:
        if lost(error):
            raise
        return
    if status == "FINISHED:COMPLETED":
        raise DeploymentError(
            f"job {job_id} completed: there is nothing to resume (its model is in the run "
            "folder its job submit wrote); submit without --resume for a new run"
        )
    if not status.startswith("FINISHED"):
        raise DeploymentError(
            f"job {job_id} is {status or 'not finished'} at the coordinator: only a stopped job "
            f"can be resumed (wait for it, or fedsec job abort {job_id} first)"
        )


def wait(admin: Any, job_id: str, timeout: float, poll: float = 1.0) -> dict[str, Any]:
    """The job's final metadata; a :class:`DeploymentError` when it does not finish in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = admin.get_job_meta(job_id)
        if str(meta.get("status", "")).startswith("FINISHED"):
            return meta
        time.sleep(poll)
    raise DeploymentError(f"job {job_id} did not finish within {timeout:.0f} s")


def progress(admin: Any, job_id: str) -> dict[str, Any] | None:
    """The running job's progress (from its ``show_stats``); None when it is not available
    (the job is not running yet or any more)."""
    try:
        stats = admin.show_stats(job_id, "server")
    except Exception as error:
        if lost(error):
            raise
        return None
    state = (stats.get("server") or {}).get(PROGRESS_TOPIC) if isinstance(stats, dict) else None
    return state if isinstance(state, dict) and "phase" in state else None


def watch(
    link: Link,
    job_id: str,
    timeout: float,
    report: Callable[[dict[str, Any]], None] = lambda _: None,
    poll: float = 1.0,
) -> dict[str, Any]:
    """Wait for the job to finish, calling ``report`` with its status and progress; a
    :class:`JobInterrupted` when the coordinator vanished or lost the job.

    While a job starts, NVFlare answers progress requests with an error (its job process has
    no engine yet); they back off from ``poll`` to 4 s until the first answer."""
    deadline = time.monotonic() + timeout
    last, backoff, asked = None, poll, 0.0
    waiting = f"following job {job_id}"
    while time.monotonic() < deadline:
        try:
            meta = link.call(waiting, lambda admin: admin.get_job_meta(job_id))
            status, state = str(meta.get("status", "")), None
            if status == "RUNNING" and time.monotonic() >= asked + backoff:
                asked = time.monotonic()
                state = link.call(waiting, lambda admin: progress(admin, job_id))
                backoff = poll if state is not None else min(2 * backoff, 4.0)
        except CoordinatorUnreachable as error:
            raise JobInterrupted(job_id, str(error), last) from None
        last = state or last
        report({"status": status, "progress": state})
        if status == ABANDONED:
            raise JobInterrupted(job_id, "the coordinator stopped while it ran", last)
        if status.startswith("FINISHED"):
            return meta
        time.sleep(poll)
    raise DeploymentError(f"job {job_id} did not finish within {timeout:.0f} s")


def job_release(workdir: Path) -> str:
    """The release nonce of the job :func:`run_job` built in ``workdir`` (the admin's copy)."""
    return release_of(Path(workdir) / "job" / APP / "config" / CLIENT_CONFIG)


def fetch(admin: Any, job_id: str, destination: Path) -> Path:
    """Download the job's coordinator workspace; the folder holding fedsec's result. Only a
    checked job id names a folder, and only what was downloaded into a fresh temporary folder
    is copied (the coordinator chooses neither where it goes nor what is read)."""
    job_id = coordinator_job_id(job_id)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination) as tmp:
        folder = Path(admin.download_job_result(job_id, tmp))
        if not folder.resolve().is_relative_to(Path(tmp).resolve()):
            raise DeploymentError(
                f"the download of job {job_id} came back outside its download folder: {folder}"
            )
        found = next(folder.rglob(f"{RESULT_DIR}/result.json"), None)
        target = destination / job_id
        if found is None:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target)
            return target
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(found.parent, target)
    return target


def run_job(
    spec: JobSpec,
    admin_kit: Path,
    username: str,
    workdir: Path,
    timeout: float = 3600.0,
    job: dict[str, Any] | None = None,
    resume: str = "",
    report: Callable[[dict[str, Any]], None] = lambda _: None,
    grace: float = 60.0,
) -> tuple[str, dict[str, Any], JobResult | None]:
    """Build, sign, submit, follow and fetch: (job id, final metadata, fedsec's result or None).

    ``report`` sees ``{"job": id}`` once submitted, then each status and progress; the
    coordinator may be away for ``grace`` seconds before :class:`JobInterrupted` is raised."""
    workdir = Path(workdir)
    folder = build_job(spec, workdir / "job", job, resume)
    with Link(admin_kit, username, grace=grace) as link:
        if resume:
            link.call("checking the job to resume", lambda admin: check_resumable(admin, resume))
        job_id = link.call("submitting the job", lambda admin: submit(admin, folder))
        report({"job": job_id})
        meta = watch(link, job_id, timeout, report)
        fetched = link.call(
            "downloading the result", lambda admin: fetch(admin, job_id, workdir / "results")
        )
    result = read_result(fetched) if (fetched / "result.json").is_file() else None
    return job_id, meta, result

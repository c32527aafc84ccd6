"""``fedsec job status | abort | logs`` and the round-by-round output of ``fedsec job submit``.

Its commands join ``job_app`` (:mod:`fedsec.cli.options`), beside ``job submit``. Every command
reaches the coordinator with an admin startup kit (a loopback federation's by default) and ends
with a clear message, not a traceback, when the coordinator cannot be reached.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fedsec.cli.common import clean_errors, console, errors, progress_bar
from fedsec.cli.options import DEFAULT_POC, Force, job_app
from fedsec.core.errors import ConfigError

Federation = Annotated[Path, typer.Option(help="Loopback federation folder (for its admin kit).")]
AdminKit = Annotated[Path | None, typer.Option(help="Admin startup kit (instead of --federation).")]
Username = Annotated[str | None, typer.Option(help="Admin name of that kit.")]
JobId = Annotated[str, typer.Argument(help="The job's id (fedsec job status lists them).")]
LOST = (
    "NVFlare 2.9 keeps a job RUNNING when the coordinator that ran it died, and can then "
    "neither abort nor delete it"
)


def admin_of(federation: Path, admin_kit: Path | None, username: str | None) -> tuple[Path, str]:
    """The admin kit and name: given, or the loopback federation's."""
    from fedsec.engines.nvflare import poc

    if admin_kit is None:
        state = poc.load_poc(federation)
        return state.admin_kit, state.admin
    if username is None:
        raise ConfigError("--admin-kit needs --username (the admin's name in the project)")
    return admin_kit, username


def link(federation: Path, admin_kit: Path | None, username: str | None) -> Any:
    from fedsec.engines.nvflare.admin import Link

    kit, name = admin_of(federation, admin_kit, username)
    return Link(kit, name, grace=15.0)


#: What a job's progress says when it enters a phase other than a training round.
PHASES = {
    "boosting": "every site agreed: they boost the trees together (one task, no rounds to show)",
    "evaluating": "sites evaluate the final model",
    "failed": "job failed",
}


class RoundReporter:
    """``fedsec job submit``'s output while the job runs: a bar on a terminal, otherwise one
    plain line per event (status change, round, resumption) for logs and pipes."""

    def __init__(self, rounds: int, bar: bool | None = None) -> None:
        self.rounds, self.printed, self.status, self.phase = rounds, 0, "", ""
        self.bar = (console.is_terminal and errors.is_terminal) if bar is None else bar
        self._progress = progress_bar() if self.bar else None
        self._task = None

    def __enter__(self) -> RoundReporter:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("submitting", total=self.rounds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def say(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, highlight=False)
        else:
            console.print(text, highlight=False, soft_wrap=True)

    def __call__(self, event: dict[str, Any]) -> None:
        if "job" in event:
            self.say(f"job {event['job']} submitted; waiting for the coordinator to start it")
            return
        status = event.get("status", "")
        if status != self.status:
            self.status = status
            self.say(f"job status: {status}")
        self.show(event.get("progress"))

    def show(self, state: dict[str, Any] | None) -> None:
        from fedsec.engines.nvflare.progress import round_line

        if not state:
            return
        for step in state.get("resumed", [])[-1:]:
            if self.printed == 0:
                self.say(f"resumed job {step['job']} after its round {step['round']}")
                self.printed = int(step["round"])
        for entry in state.get("history", []):
            self.rounds_done(entry, round_line(entry, self.rounds))
        phase = state.get("phase", "")
        if phase != self.phase and phase in PHASES:
            self.say(PHASES[phase])
        self.phase = phase

    def rounds_done(self, entry: dict[str, Any], line: str) -> None:
        if entry["round"] <= self.printed:
            return
        self.printed = entry["round"]
        if self._progress is not None:
            self._progress.update(self._task, completed=self.printed, description="training")
        else:
            self.say(line)

    def finish(self, history: list[Any]) -> None:
        """Rounds the job ran after the last poll (from its result)."""
        from dataclasses import asdict

        from fedsec.engines.nvflare.progress import round_line

        for log in history:
            entry = asdict(log)
            self.rounds_done(entry, round_line(entry, self.rounds))


def resume_command(job_id: str) -> str:
    """The command line that resumes ``job_id``: this one, with ``--resume JOB``."""
    argv = list(sys.argv[1:]) if sys.argv[1:3] == ["job", "submit"] else ["job", "submit", "..."]
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        elif not arg.startswith("--resume="):
            kept.append(arg)
    return shlex.join(["fedsec", *kept, "--resume", job_id])


def interrupted_message(error: Any) -> str:
    """What ``job submit`` says when the coordinator vanished or lost the job."""
    done, rounds = int(error.progress.get("round", 0)), error.progress.get("rounds", "?")
    restart = (
        "Once the coordinator runs again (a loopback federation: fedsec federation "
        "restart-coordinator)"
    )
    if not done and not error.checkpoint:
        return (
            f"{error}. No round of it was reported complete. {restart}, submit it again; if a "
            f"round did complete, {resume_command(error.job_id)} goes on from it"
        )
    return (
        f"{error}. It had completed {done} of {rounds} rounds; the coordinator checkpoints "
        f"every round (last seen: round {error.checkpoint}). {restart}, resume with: "
        f"{resume_command(error.job_id)}"
    )


@job_app.command("status")
@clean_errors
def status_command(
    job: Annotated[str | None, typer.Argument(help="A job id (default: list the jobs).")] = None,
    federation: Federation = DEFAULT_POC,
    admin_kit: AdminKit = None,
    username: Username = None,
) -> None:
    """List the coordinator's jobs, or show one job's status and round."""
    from fedsec.engines.nvflare.job import progress

    with link(federation, admin_kit, username) as admin:
        if job is None:
            jobs = admin.call("listing jobs", lambda a: a.list_jobs())
            for j in jobs:  # one plain line per job: ids stay whole at any terminal width
                when = str(j.get("submit_time", ""))[:19].replace("T", " ")
                line = f"{j['job_id']}  {j['status']:<20} {when}  {j.get('job_name', '')}"
                console.print(line, highlight=False, soft_wrap=True)
            if not jobs:
                console.print("no jobs")
            return
        meta = admin.call(f"reading job {job}", lambda a: a.get_job_meta(job))
        state = admin.call(f"reading job {job}", lambda a: progress(a, job))
    status = str(meta.get("status", "?"))
    console.print(f"job {job} ({meta.get('name', '')}): {status}", highlight=False)
    if state:
        console.print(
            f"phase {state['phase']}, round {state['round']} of {state.get('rounds', '?')}, "
            f"checkpointed up to round {state['checkpoint']}",
            highlight=False,
        )
        for step in state.get("resumed", []):
            console.print(f"resumed job {step['job']} after its round {step['round']}")
    if status == "FINISHED:ABANDONED":
        console.print(
            "the coordinator stopped while this job ran; resume it with: fedsec job submit "
            f"SCENARIO --resume {job} (the same scenario and options)",
            highlight=False,
        )


@job_app.command("abort")
@clean_errors
def abort_command(
    job: JobId,
    federation: Federation = DEFAULT_POC,
    admin_kit: AdminKit = None,
    username: Username = None,
) -> None:
    """Abort a job (its checkpoints stay: it can be resumed later)."""
    from fedsec.engines.nvflare.admin import lost

    def abort(admin: Any) -> str:
        try:
            return str(admin.abort_job(job))
        except Exception as error:
            if lost(error) or "is not running" not in str(error):
                raise
            return ""

    with link(federation, admin_kit, username) as admin:
        answer = admin.call(f"aborting job {job}", abort)
        meta = admin.call(f"reading job {job}", lambda a: a.get_job_meta(job))
    status = meta.get("status")
    if not answer:
        raise ConfigError(
            f"job {job} is recorded as {status} but the coordinator has no process for it (it "
            f"restarted while the job ran): {LOST}. Restart the coordinator with a kit from "
            "fedsec federation provision (or poc): when it starts it marks such jobs "
            f"FINISHED:ABANDONED; then resume with fedsec job submit SCENARIO --resume {job}"
        )
    console.print(f"job {job}: {answer} (status {status})", highlight=False)


@job_app.command("logs")
@clean_errors
def logs_command(
    job: JobId,
    federation: Federation = DEFAULT_POC,
    admin_kit: AdminKit = None,
    username: Username = None,
    out: Annotated[Path | None, typer.Option(help="Write the log here instead.")] = None,
    force: Force = False,
) -> None:
    """Print the coordinator's log of a job (sites keep their own logs)."""
    from fedsec.core import atomic, outputs

    if out is not None:
        outputs.check_file(out, force=force)
    with link(federation, admin_kit, username) as admin:
        reply = admin.call(
            f"reading the log of job {job}", lambda a: a.get_job_logs(job, target="server")
        )
    text = (reply.get("logs") or {}).get("server")
    if text is None:
        why = (reply.get("unavailable") or {}).get("server", "no log")
        raise ConfigError(f"job {job}: the coordinator has no log for it ({why})")
    if out is not None:
        atomic.write_text(out, text)
        console.print(escape(f"coordinator log of job {job}: {out}"))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    errors.print(
        "sites' logs of this job stay at the sites (in each site kit's job folder): ask each "
        "organization for its own"
    )

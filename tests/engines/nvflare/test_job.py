"""Following a submitted job: its progress, and what happens when the coordinator goes away."""

import json

import pytest

pytest.importorskip("nvflare")

from fedsec.engines.nvflare.admin import CoordinatorUnreachable
from fedsec.engines.nvflare.checkpoint import CheckpointError
from fedsec.engines.nvflare.job import (
    INLINE_ARRAYS,
    JobInterrupted,
    build_job,
    check_resumable,
    watch,
)
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.progress import PROGRESS_TOPIC
from fedsec.engines.nvflare.results import DeploymentError
from fedsec.scenarios.loading import load_scenario


def progress(round_: int, checkpoint: int) -> dict:
    history = [{"round": r, "selected": ["a"], "contributed": ["a"], "loss": 0.5, "seconds": 0.1}
               for r in range(1, round_ + 1)]  # fmt: skip
    return {"phase": "training", "rounds": 9, "round": round_, "checkpoint": checkpoint,
            "history": history, "resumed": []}  # fmt: skip


class Coordinator:
    """Answers get_job_meta/show_stats from a script; then vanishes or forgets the job."""

    def __init__(self, script, then):
        self.script, self.then = list(script), then

    def get_job_meta(self, job_id):
        if not self.script:
            if self.then == "vanish":
                raise CoordinatorUnreachable("following the job", 0.0, 60.0, "no connection")
            return {"status": "FINISHED:ABANDONED"}
        self.status, self.state = self.script.pop(0)
        return {"status": self.status}

    def show_stats(self, job_id, target):
        return {"server": {PROGRESS_TOPIC: self.state}}


class FakeLink:
    def __init__(self, coordinator):
        self.coordinator = coordinator

    def call(self, what, command):
        return command(self.coordinator)


SCRIPT = [("SUBMITTED", None), ("RUNNING", progress(2, 2)), ("RUNNING", progress(3, 3))]


@pytest.mark.parametrize("then", ["vanish", "forget"])
def test_an_interrupted_job_reports_its_checkpointed_round(then):
    seen = []
    with pytest.raises(JobInterrupted) as caught:
        watch(FakeLink(Coordinator(SCRIPT, then)), "job-1", 60, seen.append, poll=0.0)
    assert caught.value.job_id == "job-1" and caught.value.checkpoint == 3
    assert [e["status"] for e in seen][:3] == ["SUBMITTED", "RUNNING", "RUNNING"]
    assert seen[1]["progress"]["round"] == 2
    reason = "coordinator unreachable" if then == "vanish" else "stopped while it ran"
    assert reason in str(caught.value)


def test_a_finished_job_returns_its_metadata():
    script = [*SCRIPT, ("FINISHED:COMPLETED", None)]
    meta = watch(FakeLink(Coordinator(script, "vanish")), "job-1", 60, poll=0.0)
    assert meta == {"status": "FINISHED:COMPLETED"}


def test_a_resumed_job_names_the_interrupted_one_to_the_controller(tmp_path):
    scenario = load_scenario("unsw-5org-disjoint")
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings())
    folder = build_job(spec, tmp_path / "job", resume="3f2a-b1")
    server = json.loads((folder / "app" / "config" / "config_fed_server.json").read_text())
    assert server["workflows"][0]["args"]["resume"] == "3f2a-b1"
    plain = build_job(spec, tmp_path / "plain")
    server = json.loads((plain / "app" / "config" / "config_fed_server.json").read_text())
    assert "resume" not in server["workflows"][0]["args"]
    with pytest.raises(CheckpointError, match="is not a job id"):
        build_job(spec, tmp_path / "bad", resume="../other-kit")


class JobStore:
    """A coordinator's job store answering get_job_meta; an unknown job is NVFlare's error."""

    def __init__(self, **statuses):
        self.statuses = statuses

    def get_job_meta(self, job_id):
        if job_id not in self.statuses:
            raise RuntimeError(f"job {job_id} does not exist")
        return {"status": self.statuses[job_id]}


def test_only_a_stopped_job_is_resumed():
    """A completed job's checkpoints are gone: resuming it said it "ended before its first
    round". A running one would be continued twice from one checkpoint."""
    store = JobStore(done="FINISHED:COMPLETED", live="RUNNING", stopped="FINISHED:ABANDONED",
                     aborted="FINISHED:ABORTED")  # fmt: skip
    with pytest.raises(DeploymentError, match="job done completed: there is nothing to resume"):
        check_resumable(store, "done")
    with pytest.raises(DeploymentError, match=r"job live is RUNNING .*fedsec job abort live"):
        check_resumable(store, "live")
    for job in ("stopped", "aborted", "forgotten"):  # a lost job store may leave checkpoints
        check_resumable(store, job)


def test_sites_send_the_arrays_of_their_replies_inline(tmp_path):
    """The coordinator never has to download a reply from a site that may have died since
    (test_deployment_dropout.py kills a site while it replies); it still serves the model to
    the sites for download."""
    spec = JobSpec.from_scenario(load_scenario("unsw-5org-disjoint"), [], DeploymentSettings())
    config = build_job(spec, tmp_path / "job") / "app" / "config"
    client = json.loads((config / "config_fed_client.json").read_text())
    server = json.loads((config / "config_fed_server.json").read_text())
    assert client[INLINE_ARRAYS] == 0 and INLINE_ARRAYS not in server

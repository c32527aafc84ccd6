"""A hostile coordinator names no folder on the admin's machine: the job id it answers with
and the folder its download lands in are checked before anything is deleted or copied."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedsec.engines.nvflare.job import fetch, submit
from fedsec.engines.nvflare.results import RESULT_DIR, DeploymentError

HOSTILE_IDS = ["../../../victim", "/tmp/elsewhere", "..", "a/b", "", "x\n"]


class HostileCoordinator:
    """Answers a job submission or a download with what it likes."""

    def __init__(self, job_id: object = "ok", lands: Path | None = None) -> None:
        self.job_id, self.lands = job_id, lands

    def submit_job(self, folder: str) -> object:
        return self.job_id

    def download_job_result(self, job_id: str, into: str) -> str:
        folder = self.lands or Path(into) / job_id
        (folder / RESULT_DIR).mkdir(parents=True, exist_ok=True)
        (folder / RESULT_DIR / "result.json").write_text("{}")
        return str(folder)


def _victim(root: Path) -> Path:
    victim = root / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    return victim


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
def test_a_submission_answered_with_a_path_is_refused(job_id, tmp_path):
    with pytest.raises(DeploymentError, match="bad job id"):
        submit(HostileCoordinator(job_id), tmp_path)


@pytest.mark.parametrize("job_id", ["../../victim", str(Path("/tmp") / "victim")])
def test_fetch_with_a_path_for_a_job_id_touches_nothing_outside(job_id, tmp_path):
    victim = _victim(tmp_path)
    destination = tmp_path / "runs" / ".job" / "results"
    hostile = job_id if not job_id.startswith("/") else str(victim)
    with pytest.raises(DeploymentError, match="bad job id"):
        fetch(HostileCoordinator(), hostile, destination)
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]
    assert (victim / "keep.txt").read_text() == "precious"


def test_a_download_landing_outside_its_folder_is_not_copied(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    destination = tmp_path / "results"
    with pytest.raises(DeploymentError, match="outside its download folder"):
        fetch(HostileCoordinator(lands=elsewhere), "job-1", destination)
    assert not (destination / "job-1").exists()


def test_an_honest_job_id_and_download_are_fetched(tmp_path):
    job_id = "3f2a9c1e-7b4d-4e0a-9c1e-2b7d4e0a9c1e"
    assert submit(HostileCoordinator(job_id), tmp_path) == job_id
    fetched = fetch(HostileCoordinator(), job_id, tmp_path / "results")
    assert fetched == tmp_path / "results" / job_id
    assert (fetched / "result.json").read_text() == "{}"

"""``fedsec job submit``'s library half: the scenario and plan checked before any federation is
contacted; a finished job evaluated when a data directory is known (``--data-dir`` or
``$FEDSEC_DATA``), else written from the sites' reports; a failed or abandoned job said."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest

pytest.importorskip("nvflare")

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.results import DeploymentError
from fedsec.experiments import deployed_submit
from fedsec.scenarios.federation import DATA_ENV
from fedsec.scenarios.loading import load_scenario

JOB = "4fac90f9-0d3c-4d0e-9a54-5b2ac4e43b11"


class Reporter:
    def __init__(self) -> None:
        self.states: list[dict] = []
        self.finished = None

    def __call__(self, state: dict) -> None:
        self.states.append(state)

    def finish(self, history) -> None:
        self.finished = history


@pytest.fixture
def job(monkeypatch, tmp_path):
    """A job that runs at once: ``job.outcome`` is what run_job returns or raises."""
    calls: dict = {"outcome": (JOB, {"status": "FINISHED"}, None), "written": []}

    def run_job(spec, kit, username, work, timeout, resume="", report=print):
        work.mkdir(parents=True)
        report({"job": JOB})
        if isinstance(calls["outcome"], BaseException):
            raise calls["outcome"]
        return calls["outcome"]

    def written(kind):
        return lambda *args, **kwargs: calls["written"].append(kind)

    monkeypatch.setattr(deployed_submit.identity, "kit_signer", lambda kit: None)
    monkeypatch.setattr(deployed_submit.attestation, "kit_root", lambda kit: b"root CA")
    monkeypatch.setattr(
        deployed_submit.attestation,
        "require_attested",
        lambda *args, **kwargs: calls["written"].append("attested"),
    )
    monkeypatch.setattr(deployed_submit.job, "run_job", run_job)
    monkeypatch.setattr(deployed_submit, "write_site_only_run", written("sites"))
    monkeypatch.setattr(deployed_submit, "write_deployed_run", written("evaluated"))
    monkeypatch.setattr(
        deployed_submit, "run_deployed", lambda *args: SimpleNamespace(metrics={}, timing={})
    )
    monkeypatch.delenv(DATA_ENV, raising=False)
    return calls


def _submit(tmp_path, data_dir=None):
    config, spec = deployed_submit.job_spec(
        load_scenario("unsw-5org-disjoint", ["rounds=2"]), None, None, 10.0, None
    )
    reporter = Reporter()

    @contextmanager
    def progress(rounds):
        assert rounds == spec.rounds
        yield reporter

    done = deployed_submit.submit(
        config,
        spec,
        tmp_path / "kit",
        "soc@x",
        out=tmp_path / "run",
        data_dir=data_dir,
        timeout=5.0,
        resume=None,
        force=False,
        progress=progress,
    )
    return done, reporter


def test_without_a_data_directory_the_run_is_the_sites_reports(tmp_path, job):
    job["outcome"] = (JOB, {}, SimpleNamespace(error=None, history=["r1"]))
    done, reporter = _submit(tmp_path)
    assert job["written"] == ["sites"] and done.experiment is None
    assert done.job_id == JOB and done.target == tmp_path / "run"
    assert reporter.states == [{"job": JOB}] and reporter.finished == ["r1"]
    assert not (tmp_path / ".run.job").exists()  # the job's work folder goes when it succeeds


@pytest.mark.parametrize("where", ["option", "environment"])
def test_a_data_directory_evaluates_the_deployed_model(tmp_path, job, monkeypatch, where):
    job["outcome"] = (JOB, {}, SimpleNamespace(error=None, history=[]))
    if where == "environment":
        monkeypatch.setenv(DATA_ENV, str(tmp_path))
    done, _ = _submit(tmp_path, data_dir=tmp_path if where == "option" else None)
    assert job["written"] == ["attested", "evaluated"] and done.experiment is not None


def test_a_failed_job_names_its_logs(tmp_path, job):
    job["outcome"] = (JOB, {"status": "FINISHED:EXECUTION_EXCEPTION"}, None)
    with pytest.raises(DeploymentError, match=f"job {JOB} failed: status FINISHED:EXECUTION"):
        _submit(tmp_path)
    assert (tmp_path / ".run.job").is_dir() and job["written"] == []


def test_ctrl_c_after_submission_leaves_the_job_running(tmp_path, job):
    job["outcome"] = KeyboardInterrupt()
    with pytest.raises(deployed_submit.LeftRunning) as left:
        _submit(tmp_path)
    assert left.value.job_id == JOB


def test_the_scenario_is_checked_before_any_federation(tmp_path):
    with pytest.raises(ConfigError, match="--detector applies to anomaly scenarios"):
        deployed_submit.job_spec(load_scenario("unsw-5org-disjoint"), "ae", None, 10.0, None)
    with pytest.raises(ConfigError, match=r"evaluation\.arms must include 'federated'"):
        deployed_submit.job_spec(
            load_scenario("unsw-5org-disjoint", ['evaluation.arms=["local"]']),
            None,
            None,
            10.0,
            None,
        )

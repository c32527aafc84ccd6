"""fedsec job status / abort / logs and job submit's output, without a running federation."""

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.cli.jobs import RoundReporter, interrupted_message, resume_command
from fedsec.engines.nvflare.job import JobInterrupted
from fedsec.engines.nvflare.records import RoundLog

runner = CliRunner()


def entry(round_: int) -> dict:
    return {"round": round_, "selected": ["a", "b"], "contributed": ["a", "b"], "loss": 0.25,
            "seconds": 0.5, "dropped": {}, "refused": {}, "flagged": {}}  # fmt: skip


def test_piped_output_has_one_plain_line_per_event_and_round(capsys):
    with RoundReporter(rounds=3, bar=False) as report:
        report({"job": "job-1"})
        report({"status": "SUBMITTED", "progress": None})
        report({"status": "RUNNING", "progress": {"phase": "training", "history": [entry(1)]}})
        report({"status": "RUNNING", "progress": {"phase": "training", "history": [entry(1)]}})
        state = {"phase": "evaluating", "history": [entry(1), entry(2), entry(3)]}
        report({"status": "RUNNING", "progress": state})
        report.finish([RoundLog(r, ["a", "b"], ["a", "b"], 0.25, 0.5) for r in (1, 2, 3)])
    assert capsys.readouterr().out.splitlines() == [
        "job job-1 submitted; waiting for the coordinator to start it",
        "job status: SUBMITTED",
        "job status: RUNNING",
        "round 1/3: loss 0.2500, 2/2 sites, 0.50 s",
        "round 2/3: loss 0.2500, 2/2 sites, 0.50 s",
        "round 3/3: loss 0.2500, 2/2 sites, 0.50 s",
        "sites evaluate the final model",
    ]


def test_rounds_after_the_last_poll_come_from_the_result(capsys):
    with RoundReporter(rounds=2, bar=False) as report:
        report({"status": "RUNNING", "progress": {"phase": "training", "history": [entry(1)]}})
        report.finish([RoundLog(r, ["a"], ["a"], 0.25, 0.5) for r in (1, 2)])
    assert capsys.readouterr().out.splitlines()[-1] == "round 2/2: loss 0.2500, 1/1 sites, 0.50 s"


def test_a_resumed_job_says_where_it_went_on(capsys):
    with RoundReporter(rounds=9, bar=False) as report:
        state = {"phase": "training", "resumed": [{"job": "job-0", "round": 6}],
                 "history": [entry(r) for r in range(1, 8)]}  # fmt: skip
        report({"status": "RUNNING", "progress": state})
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "resumed job job-0 after its round 6",
        "round 7/9: loss 0.2500, 2/2 sites, 0.50 s",
    ]


def test_the_resume_command_repeats_this_one_with_the_job(monkeypatch):
    argv = ["fedsec", "job", "submit", "my scenario.toml", "--set", "rounds=40", "--resume", "old"]
    monkeypatch.setattr("sys.argv", argv)
    expected = "fedsec job submit 'my scenario.toml' --set rounds=40 --resume job-7"
    assert resume_command("job-7") == expected
    progress = {"phase": "training", "rounds": 40, "round": 6, "checkpoint": 6}
    message = interrupted_message(JobInterrupted("job-7", "the coordinator stopped", progress))
    assert "It had completed 6 of 40 rounds" in message
    assert "(last seen: round 6)" in message and message.endswith(expected)
    early = interrupted_message(JobInterrupted("job-7", "the coordinator stopped", None))
    assert "No round of it was reported complete" in early and "submit it again" in early


@pytest.mark.parametrize(
    "command",
    [["job", "status"], ["job", "abort", "job-1"], ["job", "logs", "job-1"]],
    ids=["status", "abort", "logs"],
)
def test_job_commands_without_a_federation_fail_clearly(tmp_path, command):
    pytest.importorskip("nvflare")
    result = runner.invoke(app, [*command, "--federation", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "no loopback federation here" in result.output


def test_job_submit_refuses_a_resume_that_is_not_a_job_id(tmp_path):
    pytest.importorskip("nvflare")
    result = runner.invoke(
        app,
        ["job", "submit", "unsw-5org-disjoint", "--federation", str(tmp_path), "--resume", "../x"],
    )
    assert result.exit_code == 2, result.output
    assert "'../x' is not a job id" in result.output


def test_a_tree_job_says_when_its_sites_boost_and_then_evaluate(capsys):
    with RoundReporter(rounds=50, bar=False) as report:
        report({"status": "RUNNING", "progress": {"phase": "starting", "history": []}})
        report({"status": "RUNNING", "progress": {"phase": "boosting", "history": []}})
        report({"status": "RUNNING", "progress": {"phase": "boosting", "history": []}})
        report({"status": "RUNNING", "progress": {"phase": "evaluating", "history": []}})
    assert capsys.readouterr().out.splitlines() == [
        "job status: RUNNING",
        "every site agreed: they boost the trees together (one task, no rounds to show)",
        "sites evaluate the final model",
    ]


def test_ctrl_c_while_a_job_runs_says_it_goes_on_and_how_to_stop_it(tmp_path, monkeypatch):
    """The job runs at the coordinator: Ctrl-C on the command that follows it leaves it
    running. It said 'nothing was kept' and nothing of the job, which went on unseen."""
    pytest.importorskip("nvflare")
    from fedsec.engines.nvflare import job as job_module

    def interrupted_run(spec, kit, username, work, timeout, resume="", report=print):
        report({"job": "4fac90f9-0d3c-4d0e-9a54-5b2ac4e43b11"})
        raise KeyboardInterrupt

    monkeypatch.setattr("fedsec.cli.jobs.admin_of", lambda *_: (tmp_path / "kit", "soc@x"))
    monkeypatch.setattr("fedsec.engines.nvflare.identity.kit_signer", lambda kit: None)
    monkeypatch.setattr(job_module, "run_job", interrupted_run)
    args = ["job", "submit", "unsw-5org-disjoint", "--out", str(tmp_path / "run")]
    result = runner.invoke(app, [*args, "--set", "rounds=2"])
    said = " ".join(result.output.split())
    assert result.exit_code == 130, said
    assert "job 4fac90f9-0d3c-4d0e-9a54-5b2ac4e43b11 goes on at the coordinator" in said
    assert "fedsec job abort 4fac90f9-0d3c-4d0e-9a54-5b2ac4e43b11 --admin-kit" in said
    assert "nothing was kept" not in said and not (tmp_path / "run").exists()

"""Jobs of one site running at once share its ``lifetime_epsilon``: a round is admitted and
charged (its planned steps written to the ledger file) under one lock, before it trains. Each
job's check read the file and the record came after training: job B asking while job A trained
found A's round nowhere, both trained, and the ledger ended at epsilon 1.39 beyond 1.2."""

import json

import pytest

import fedsec.engines.nvflare.site as site_module
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.fl.privacy import dp
from tests.engines.nvflare.site_requests import DP, guarded_site, train

pytestmark = pytest.mark.usefixtures("site_files_read_once")

FLOOR = {"max_epsilon": 1.0, "lifetime_epsilon": 1.2}


def lifetime(ledger) -> tuple[int, float]:
    """The ledger file's number of jobs and its epsilon composed over all of them."""
    jobs = json.loads(ledger.read_text())["jobs"] if ledger.exists() else {}
    steps = [tuple(step) for job in jobs.values() for step in job]
    return len(jobs), dp.composed_sample_dp_epsilon(steps, 1e-5, "rdp")


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "local" / LEDGER_FILE
    path.parent.mkdir()
    return path


def test_a_job_asking_while_another_trains_finds_its_round_charged(consortium, ledger, monkeypatch):
    first = guarded_site(consortium, ledger, "job-A", **FLOOR)
    second = guarded_site(consortium, ledger, "job-B", **FLOOR)
    real, during = site_module.run_task, {}

    def train_a_while_b_asks(*args, **kwargs):
        if not during:  # job B's request arrives while job A trains
            during["jobs"] = lifetime(ledger)[0]
            with pytest.raises(PlanRefused, match=r"over every job of its ledger to 1\.\d+"):
                train(second, consortium, round=1, rounds=1, sample_dp=DP)
        return real(*args, **kwargs)

    monkeypatch.setattr(site_module, "run_task", train_a_while_b_asks)
    assert "params" in train(first, consortium, round=1, rounds=1, sample_dp=DP)
    assert during == {"jobs": 1}  # B refused, and A's round was on file while it trained
    jobs, epsilon = lifetime(ledger)
    assert jobs == 1 and epsilon <= FLOOR["lifetime_epsilon"]
    assert second.dp_steps == 0 and second.ledger.history == []


def test_a_round_failing_after_admission_stays_charged(consortium, ledger, monkeypatch):
    """Fail closed: a round that broke while training may have released something."""

    def broken(*args, **kwargs):
        raise RuntimeError("the training process died")

    failed = guarded_site(consortium, ledger, "job-A", **FLOOR)
    monkeypatch.setattr(site_module, "run_task", broken)
    with pytest.raises(RuntimeError, match="died"):
        train(failed, consortium, round=1, rounds=1, sample_dp=DP)
    jobs, epsilon = lifetime(ledger)
    assert jobs == 1 and 0.9 < epsilon <= 1.0
    monkeypatch.undo()
    later = guarded_site(consortium, ledger, "job-B", **FLOOR)
    with pytest.raises(PlanRefused, match=r"over every job of its ledger to 1\.\d+, beyond"):
        train(later, consortium, round=1, rounds=1, sample_dp=DP)


def test_a_trained_round_is_charged_once(consortium, ledger):
    site = guarded_site(consortium, ledger, "job-A", **FLOOR)
    assert "params" in train(site, consortium, round=1, rounds=1, sample_dp=DP)
    ((steps,),) = json.loads(ledger.read_text())["jobs"].values()
    assert steps[2] == site.dp_steps and site.ledger.history == [tuple(steps)]

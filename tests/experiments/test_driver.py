"""The driver and the run writer know nothing of a task but its ``Task`` methods: a stand-in
task (no data, no training) shows the order of the steps and what each one receives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedsec.experiments import driver
from fedsec.experiments.rundir import MODEL_DIR, write_run
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.base import Evaluation, Task
from fedsec.tasks.federate import TrainedArm


class StandIn(Task):
    name = "classification"
    bundle_kind = "stand-in"
    summary_columns = {"score": "score"}  # noqa: RUF012

    def __init__(self, interrupt_at: str | None = None) -> None:
        self.calls: list[str] = []
        self.interrupt_at = interrupt_at

    def arm_names(self, scenario):
        return ["centralized", "local", "federated"]

    def build_federation(self, scenario, data_dir):
        self.calls.append("build")
        return {"data_dir": data_dir}

    def training_data(self, scenario, federation):
        self.calls.append("data")
        return "frames"

    def train_arm(self, scenario, data, arm, tick):
        if arm == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls.append(f"train {arm} on {data}")
        tick(arm)
        return TrainedArm(arm, {"org1": arm}, seconds=0.5, round_seconds=[0.5])

    def evaluate(self, scenario, federation, data, arms):
        self.calls.append(f"evaluate {sorted(arms)}")
        arms_metrics = {a: {"overall": {"score": 1.0}} for a in arms}
        return Evaluation({"scenario": scenario.name, "arms": arms_metrics}, {"roc": 1})

    def ships_model(self, arms):
        return "federated" in arms

    def product(self, arms):
        return "federated", arms["federated"].models["org1"]

    def save_bundle(self, run, folder, signer):
        folder.mkdir()
        (folder / "model.txt").write_text(run.product()[1])

    def render(self, metrics, timing, config_text):
        return f"# {metrics['scenario']}: {sorted(metrics['arms'])}"

    def write_figures(self, run, folder):
        (folder / "figure.txt").write_text(json.dumps(run.plot_data))

    def verdict(self, metrics):
        return []


@pytest.fixture
def stand_in(monkeypatch):
    def use(task: StandIn) -> StandIn:
        monkeypatch.setattr(driver, "task_of", lambda scenario: task)
        return task

    return use


def test_the_driver_runs_the_tasks_steps_in_order_and_the_writer_writes_what_it_returns(
    stand_in, tmp_path
):
    task = stand_in(StandIn())
    ticks: list[str] = []
    run = driver.run_experiment(load_scenario("unsw-5org-disjoint"), tmp_path, ticks.append)
    assert task.calls == [
        "build",
        "data",
        "train centralized on frames",
        "train local on frames",
        "train federated on frames",
        "evaluate ['centralized', 'federated', 'local']",
    ]
    assert ticks == ["centralized", "local", "federated"]
    assert run.federation == {"data_dir": tmp_path} and run.plot_data == {"roc": 1}
    assert run.timing["arms_s"] == {"centralized": 0.5, "local": 0.5, "federated": 0.5}

    out = write_run(run, tmp_path / "run", signer=None)
    assert sorted(p.name for p in out.iterdir() if p.name != ".fedsec-output.json") == [
        "config.toml",
        "figure.txt",
        "metrics.json",
        MODEL_DIR,
        "report.md",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["arms"]["federated"] == {"overall": {"score": 1.0}}
    assert "timing" in metrics and "wall_s" in metrics["timing"]
    assert (
        out / "report.md"
    ).read_text() == "# unsw-5org-disjoint: ['centralized', 'federated', 'local']"
    assert (out / MODEL_DIR / "model.txt").read_text() == "federated"
    assert load_scenario(str(out / "config.toml")) == run.scenario


def test_arms_trained_elsewhere_are_evaluated_not_retrained(stand_in, tmp_path):
    task = stand_in(StandIn())
    deployed = TrainedArm("federated", {"org1": "deployed"})
    run = driver.run_experiment(
        load_scenario("unsw-5org-disjoint"),
        tmp_path,
        federation="given",
        trained={"federated": deployed},
    )
    assert "build" not in task.calls and "train federated on frames" not in task.calls
    assert run.arms["federated"] is deployed and run.federation == "given"


def test_an_interrupt_keeps_the_finished_arms_and_marks_the_run_incomplete(stand_in, tmp_path):
    stand_in(StandIn(interrupt_at="federated"))
    run = driver.run_experiment(load_scenario("unsw-5org-disjoint"), tmp_path)
    assert sorted(run.arms) == ["centralized", "local"]
    assert run.metrics["incomplete"] == {
        "interrupted_during": "federated",
        "finished_arms": ["centralized", "local"],
        "missing_arms": ["federated"],
    }
    out = write_run(run, Path(tmp_path / "run"), signer=None)
    assert not (out / MODEL_DIR).exists()  # no shared model trained: nothing shipped

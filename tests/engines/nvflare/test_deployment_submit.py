"""``fedsec job submit`` of an anomaly job and of a logs job through the session's real loopback
NVFlare federation (conftest.py): each run directory holds the in-process federated arm's
metrics and model. The same protocols over an in-memory transport are tested, without any
NVFlare process, in test_deployment_anomaly.py and test_deployment_logs.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

pytest.importorskip("nvflare")

from fedsec.bundles.anomaly_bundle import load_anomaly_bundle
from fedsec.bundles.keys import user_trust
from fedsec.bundles.logs_bundle import load_log_bundle
from fedsec.cli import app
from fedsec.core import seeding
from fedsec.experiments.deployed import deployed_scenario
from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.config import Scenario
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.variants import anomaly_scenario, scenario_with_privacy

pytestmark = pytest.mark.deployment


def test_fedsec_job_submit_runs_an_anomaly_job_equal_to_the_in_process_run(
    federation, consortium, tmp_path
):
    """``fedsec job submit`` of a Deep SVDD job under secure aggregation through real NVFlare
    processes: the run directory's federated arm has the in-process run's metrics (all but
    the loss curve: under secure aggregation no site tells the coordinator its loss),
    and its bundle holds the in-process detector."""
    data, base = consortium
    scenario = anomaly_scenario(base, secure_aggregation=True)
    config = tmp_path / "anomaly.toml"
    config.write_text(scenario.to_toml())
    out = tmp_path / "run"
    submitted = _submit(federation, config, data, out, "--detector", "svdd")
    assert submitted.exit_code == 0, submitted.output
    deployed = json.loads((out / "metrics.json").read_text())
    assert set(deployed["arms"]) == {"federated_svdd", "local_svdd", "centralized_svdd"}
    assert deployed["deployment"]["protection"] == "secure aggregation"
    assert not deployed["deployment"]["dropouts"] and deployed["deployment"]["error"] is None
    seeding.deterministic_torch(threads=1)
    reference = run_experiment(federated_only(deployed_scenario(scenario, "svdd")), data)
    arm, expected = deployed["arms"]["federated_svdd"], reference.metrics["arms"]["federated_svdd"]
    assert "loss_curve" not in arm  # under secure aggregation no site tells its loss
    expected.pop("loss_curve")
    assert arm == json.loads(json.dumps(expected))
    ca = federation.admin_kit / "startup" / "rootCA.pem"
    model, _ = load_anomaly_bundle(out / "model", user_trust([ca]))
    detector = next(iter(reference.arms["federated_svdd"].models.values()))
    assert max_abs_diff(model.get_weights(), detector.get_weights()) <= 1e-6
    assert "## Deployment (NVIDIA FLARE)" in (out / "report.md").read_text()


def test_fedsec_job_submit_runs_a_logs_job_equal_to_the_in_process_run(federation, tmp_path):
    """``fedsec job submit`` of a logs job under secure aggregation through real NVFlare
    processes: the run directory's federated arm has the in-process run's metrics, loss curve
    included, and its bundle holds the in-process model."""
    if federation.logs is None:
        pytest.skip("the shared datasets are absent: the federation's sites hold no logs")
    data, base = federation.logs
    scenario = scenario_with_privacy(base, secure_aggregation=True)
    config = tmp_path / "logs.toml"
    config.write_text(scenario.to_toml())
    out = tmp_path / "run"
    submitted = _submit(federation, config, data, out)
    assert submitted.exit_code == 0, submitted.output
    deployed = json.loads((out / "metrics.json").read_text())
    assert deployed["deployment"]["protection"] == "secure aggregation"
    assert not deployed["deployment"]["dropouts"] and deployed["deployment"]["error"] is None
    assert deployed["deployment"]["statistics"]["mode"] == "secure aggregation"
    ca = federation.admin_kit / "startup" / "rootCA.pem"
    model, _ = load_log_bundle(out / "model", user_trust([ca]))
    seeding.deterministic_torch(threads=1)
    reference = run_experiment(federated_only(scenario), data)
    detector = next(iter(reference.arms["federated"].models.values()))
    assert model.known.tolist() == detector.known.tolist()
    assert max_abs_diff(model.get_weights(), detector.get_weights()) <= 1e-6
    expected = reference.metrics["arms"]["federated"]
    assert deployed["arms"]["federated"] == json.loads(json.dumps(expected))
    assert "hashed event token" in (out / "report.md").read_text()


def federated_only(scenario: Scenario) -> Scenario:
    """``scenario`` training only its federated arm: the in-process reference of a deployed
    run's federated arm (its other arms are trained in process by ``job submit`` itself)."""
    evaluation = scenario.evaluation.model_copy(update={"arms": ["federated"]})
    return scenario.model_copy(update={"evaluation": evaluation})


def _submit(federation, config: Path, data: Path, out: Path, *extra: str) -> Result:
    """``fedsec job submit`` of ``config`` to the loopback federation, two sites at least."""
    return CliRunner().invoke(
        app,
        ["job", "submit", str(config), "--federation", str(federation.directory),
         "--data-dir", str(data), "--out", str(out), "--min-sites", "2",
         "--round-timeout", "60", *extra],
    )  # fmt: skip

"""``fedsec job submit`` of a boosted-tree job through the session's real loopback NVFlare
federation (conftest.py): the coordinator's XGBoost federated server speaks mutual TLS with the
kits' certificates, and the run directory's federated arm is the in-process one. The protocol
over an in-memory transport is tested in test_trees_job.py."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("nvflare")
pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.bundles.keys import user_trust
from fedsec.bundles.tree_bundle import load_tree_bundle
from fedsec.cli import app
from fedsec.experiments.driver import run_experiment
from tests.engines.nvflare.test_deployment_submit import federated_only

pytestmark = pytest.mark.deployment


def test_fedsec_job_submit_runs_a_tree_job_equal_to_the_in_process_run(
    federation, consortium, tmp_path
):
    data, base = consortium
    model = base.model.model_validate(base.model.model_dump() | {"kind": "xgboost"})
    scenario = base.model_copy(update={"model": model})
    config = tmp_path / "trees.toml"
    config.write_text(scenario.to_toml())
    out = tmp_path / "run"
    submitted = CliRunner().invoke(
        app,
        ["job", "submit", str(config), "--federation", str(federation.directory),
         "--data-dir", str(data), "--out", str(out), "--min-sites", "2",
         "--round-timeout", "60"],
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    deployed = json.loads((out / "metrics.json").read_text())
    section = deployed["deployment"]
    assert section["task"] == "trees" and section["error"] is None and not section["dropouts"]
    (boosting,) = section["rounds"]
    assert boosting["contributed"] == scenario.org_names()
    reference = run_experiment(federated_only(scenario), data)  # job submit trained the rest
    expected = reference.metrics["arms"]["federated"]
    assert deployed["arms"]["federated"] == json.loads(json.dumps(expected))
    ca = federation.admin_kit / "startup" / "rootCA.pem"
    bundle, manifest = load_tree_bundle(out / "model", user_trust([ca]))
    in_process = next(iter(reference.arms["federated"].models.values()))
    assert bundle.model_ == in_process.model_  # the same booster, byte for byte
    assert manifest["provenance"]["arm"] == "federated"

"""A small end-to-end demo: the federated model detects what organizations never saw."""

from __future__ import annotations

import json

import pytest

from fedsec.bundles.bundle import load_bundle


@pytest.fixture(scope="module")
def demo(small_demo):
    return small_demo  # conftest.SMALL_DEMO


def test_federated_detects_unseen_families_better_than_local(demo) -> None:
    arms = demo.experiment.metrics["arms"]
    federated = arms["federated"]["overall"]["unseen_family_recall"]
    local = arms["local"]["overall"]["unseen_family_recall"]
    assert federated > local + 0.3
    for org, info in demo.campaigns["per_org"].items():
        new = info["new_family_recall"]
        assert info["unseen_campaigns"], org
        assert new["federated"] > new["local"], org


def test_run_directory_holds_report_data_and_model(demo) -> None:
    out = demo.out
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["campaigns"]["per_org"]) == {"plant", "cloud", "office", "grid", "iot"}
    assert metrics["timing"]["generate_s"] == demo.timing["generate_s"]
    assert 0 < demo.timing["generate_s"] < demo.timing["total_s"]
    assert demo.timing["generate_s"] + demo.timing["experiment_s"] <= demo.timing["total_s"]
    assert "## Campaigns never seen locally" in (out / "report.md").read_text()
    assert (out / "model" / "bundle.json").is_file()
    assert (out / "data" / "manifest.json").is_file()
    assert len(list((out / "data" / "office").glob("flows-*.csv"))) == 14
    assert not (out / "run").exists()


def test_run_directory_keeps_each_organizations_local_model(demo) -> None:
    """The local arm's models, each signed, with its own threshold and its own families (the
    baseline of a retro-hunt)."""
    metrics = json.loads((demo.out / "metrics.json").read_text())
    orgs = metrics["federation"]["orgs"]
    assert sorted(p.name for p in (demo.out / "local").iterdir()) == sorted(orgs)
    for org, info in orgs.items():
        model, manifest = load_bundle(demo.out / "local" / org, None)
        assert set(model.classes) == {"benign", *info["train_families"]}, org
        assert set(model.thresholds_) == {org}
        local = demo.experiment.arms["local"].models[org]
        assert model.thresholds_[org] == local.thresholds_[org]
        assert (manifest["provenance"]["arm"], manifest["provenance"]["organizations"]) == (
            "local",
            [org],
        )

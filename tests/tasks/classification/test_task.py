"""What a classification run ships besides its shared model: each organization's local-only
model, as a signed bundle named after the organization."""

from __future__ import annotations

import gzip

import numpy as np

from fedsec.data.readers import read_flows
from fedsec.experiments.rundir import LOCAL_DIR
from tests.conftest import dataset


def test_a_tree_run_keeps_each_organizations_local_booster(tmp_path, small_tree_run) -> None:
    from fedsec.bundles.tree_bundle import load_tree_bundle

    experiment, folder = small_tree_run  # conftest.SMALL_TREES, written by write_run
    local = experiment.arms["local"].models
    assert sorted(p.name for p in (folder / LOCAL_DIR).iterdir()) == sorted(local)
    with gzip.open(dataset("nsl-kdd/KDDTest+.txt.gz"), "rt") as source:
        rows = tmp_path / "kddtest.txt"
        rows.write_text("".join(next(source) for _ in range(300)))
    frame = read_flows("nsl-kdd", [rows]).features(next(iter(local.values())).view).frame
    for org, trained in local.items():
        loaded, manifest = load_tree_bundle(folder / LOCAL_DIR / org)
        assert manifest["provenance"]["organizations"] == [org]
        assert loaded.thresholds_ == trained.thresholds_
        np.testing.assert_array_equal(loaded.predict(frame, org), trained.predict(frame, org))


CIC = "cic-ids2017/improved_rnd5000/"


def _cic_scenario(sources: list[dict], rule: str, orgs: int = 2):
    from fedsec.scenarios.config import parse_scenario

    partition = {"rule": rule} if rule == "per-source" else {"rule": rule, "orgs": orgs}
    return parse_scenario({"name": "cic", "data": {"sources": sources}, "partition": partition})


def test_benign_only_training_data_is_refused_naming_the_file_and_the_anomaly_task() -> None:
    """Classification on benign flows alone learns one class, never alerts, and scores 1.000."""
    import pytest

    from fedsec.core.errors import ConfigError
    from fedsec.tasks.classification.task import ClassificationTask

    benign = f"{CIC}BENIGN_5000.csv.gz"
    scenario = _cic_scenario([{"format": "cicids2017", "paths": [benign]}], "iid")
    dataset(benign)  # skips when the shared copy is absent
    with pytest.raises(ConfigError, match=rf'{benign}: no attack rows.*task = "anomaly"'):
        ClassificationTask().build_federation(scenario, dataset(""))


def test_one_organization_with_only_benign_flows_among_others_trains() -> None:
    from fedsec.tasks.classification.task import ClassificationTask

    sources = [
        {"name": "quiet", "format": "cicids2017", "paths": [f"{CIC}BENIGN_5000.csv.gz"]},
        {"name": "hit", "format": "cicids2017", "paths": [f"{CIC}Botnet_736.csv.gz"]},
        {"name": "hit", "format": "cicids2017", "paths": [f"{CIC}Portscan_5000.csv.gz"]},
    ]
    federation = ClassificationTask().build_federation(
        _cic_scenario(sources, "per-source"), dataset("")
    )
    families = {org.name: org.train_families for org in federation.orgs}
    assert families == {"quiet": {"benign"}, "hit": {"botnet", "recon"}}

"""What a classification run ships besides its shared model: each organization's local-only
model, as a signed bundle named after the organization."""

from __future__ import annotations

import gzip

import numpy as np

from fedsec.data.readers import read_flows
from fedsec.experiments.rundir import LOCAL_DIR
from fedsec.tasks.classification.task import local_bundle_folders
from tests.conftest import dataset


def test_an_organization_name_that_is_no_plain_file_name_gets_its_position() -> None:
    folders = local_bundle_folders(["org1", "../etc", "Grid B", "plant.2", ".hidden"])
    assert folders == {
        "org1": "org1",
        "../etc": "org-1",
        "Grid B": "org-2",
        "plant.2": "plant.2",
        ".hidden": "org-4",
    }


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

"""Bundles written by earlier fedsec code still load, verify and score exactly as they did."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedsec.bundles.bundle import load_anomaly_bundle, load_bundle
from fedsec.bundles.logs_bundle import load_log_bundle
from fedsec.bundles.signing import Trust

WRITTEN = Path(__file__).parent / "data" / "v1"
EXPECTED = json.loads((WRITTEN / "expected.json").read_text())


@pytest.fixture
def trust() -> Trust:
    trust = Trust()
    trust.add_file(WRITTEN / "signer.pub")
    return trust


@pytest.mark.parametrize("name", ["classifier", "ae", "svdd"])
def test_flow_bundles_score_as_when_they_were_written(name, trust):
    load = load_bundle if name == "classifier" else load_anomaly_bundle
    model, manifest = load(WRITTEN / name, trust)
    rows = pd.DataFrame(EXPECTED["rows"])
    expected = EXPECTED[name]
    assert np.array_equal(model.decision_function(rows), np.asarray(expected["scores"]))
    assert model.predict(rows, "org1").tolist() == expected["labels"]
    assert manifest["provenance"] == {"scenario": "fixture"}


def test_deeplog_bundle_scores_as_when_it_was_written(trust):
    model, manifest = load_log_bundle(WRITTEN / "deeplog", trust)
    sessions = [np.asarray(s, np.int64) for s in EXPECTED["deeplog"]["sessions"]]
    assert model.decision_function(sessions).tolist() == EXPECTED["deeplog"]["scores"]
    assert model.predict(sessions, "org1").tolist() == EXPECTED["deeplog"]["labels"]
    assert model.top_k_ == {"org1": 2, "*": 3} and manifest["namespaces"] == {"org1": "sys"}

"""Bundles written by earlier fedsec code still load, verify and score exactly as they did."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedsec.bundles.anomaly_bundle import load_anomaly_bundle
from fedsec.bundles.bundle import load_bundle
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
    # float32 kernels differ in the last bits between CPUs (AVX2 / AVX-512, oneDNN's choice):
    # on an AMD EPYC host the scores differ from those written by up to 6e-8 (autoencoder) and
    # 1.9e-6 (Deep SVDD, relative 1.6e-6), a few float32 ulps of their sums; a misread weight or
    # preprocessing statistic moves them by orders of magnitude more.
    np.testing.assert_allclose(
        model.decision_function(rows), np.asarray(expected["scores"]), rtol=1e-5, atol=1e-6
    )
    assert model.predict(rows, "org1").tolist() == expected["labels"]
    assert manifest["provenance"] == {"scenario": "fixture"}


def test_deeplog_bundle_scores_as_when_it_was_written(trust):
    model, manifest = load_log_bundle(WRITTEN / "deeplog", trust)
    sessions = [np.asarray(s, np.int64) for s in EXPECTED["deeplog"]["sessions"]]
    assert model.decision_function(sessions).tolist() == EXPECTED["deeplog"]["scores"]
    assert model.predict(sessions, "org1").tolist() == EXPECTED["deeplog"]["labels"]
    assert model.top_k_ == {"org1": 2, "*": 3} and manifest["namespaces"] == {"org1": "sys"}

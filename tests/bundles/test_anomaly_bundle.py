"""Anomaly bundles: round trip, verification, and no confusion with classifier bundles."""

import numpy as np
import pandas as pd
import pytest
import torch

from fedsec.bundles.anomaly_bundle import load_anomaly_bundle, save_anomaly_bundle
from fedsec.bundles.bundle import load_bundle, load_manifest
from fedsec.core.errors import BundleError
from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.detectors import new_detector
from fedsec.training.plan import TrainingPlan
from tests.bundles.forging import rewrite, small_classifier


def _detector(kind: str):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"bytes": rng.exponential(100, 300), "proto": ["tcp", "udp"] * 150})
    pre = fit_preprocessor(local_stats(FeatureFrame(frame, ("bytes",), ("proto",))), 4)
    plan = TrainingPlan(steps=5, batch_size=64, lr=0.01, optimizer="adam")
    det = new_detector(kind, pre, "native", [8], 3, torch.Generator().manual_seed(2), plan=plan)
    det.fit(frame).thresholds_ = {"org1": 1.5, "*": 2.0}
    return det, frame


@pytest.mark.parametrize("kind", ["ae", "svdd"])
def test_round_trip_gives_identical_scores_and_thresholds(tmp_path, kind):
    det, frame = _detector(kind)
    save_anomaly_bundle(tmp_path / "b", det, {"scenario": "unit"})
    loaded, manifest = load_anomaly_bundle(tmp_path / "b")
    assert manifest["kind"] == "anomaly-detector" and manifest["architecture"]["kind"] == kind
    assert np.array_equal(loaded.decision_function(frame), det.decision_function(frame))
    assert loaded.thresholds_ == det.thresholds_ and loaded.kind == kind
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "bundle.json",
        "bundle.sig",
        "weights.safetensors",
    ]


def test_tampered_weights_are_refused(tmp_path):
    det, _ = _detector("ae")
    save_anomaly_bundle(tmp_path / "b", det, {})
    weights = tmp_path / "b" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        load_anomaly_bundle(tmp_path / "b")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m: m["score"].update(scale=[1.0]), "score scale has 1 values"),
        (lambda m: m["score"].update(scale=[-1.0] * len(m["score"]["scale"])), "greater than 0"),
        (lambda m: m["score"].update(center=[0.5, 0.5, 0.5]), "centre"),
        (lambda m: m["architecture"].update(kind="pca"), "does not match any of the expected"),
        (lambda m: m["thresholds"].update(org1="high"), "thresholds.org1"),
        (lambda m: m["thresholds"].update(org1=-1.0), "thresholds.org1"),
        (lambda m: m.pop("score"), "score: Field required"),
        (lambda m: m["architecture"].update(bottleneck=30000), "tensor"),
    ],
)
def test_inconsistent_manifest_is_refused(tmp_path, damage, message):
    det, _ = _detector("ae")
    save_anomaly_bundle(tmp_path / "b", det, {})
    rewrite(tmp_path / "b", damage)  # signed by a trusted key: validation still refuses it
    with pytest.raises(BundleError, match=message):
        load_anomaly_bundle(tmp_path / "b")


def test_kinds_are_not_confused_and_old_bundles_stay_classifiers(tmp_path):
    from fedsec.bundles.bundle import save_bundle

    det, _ = _detector("svdd")
    save_anomaly_bundle(tmp_path / "anomaly", det, {})
    with pytest.raises(BundleError, match="'anomaly-detector' bundle"):
        load_bundle(tmp_path / "anomaly")
    clf, _ = small_classifier()
    save_bundle(tmp_path / "clf", clf, {})
    with pytest.raises(BundleError, match="'family-classifier' bundle"):
        load_anomaly_bundle(tmp_path / "clf")
    rewrite(tmp_path / "clf", lambda m: m.pop("kind"))  # written before bundle kinds existed
    assert "kind" not in load_manifest(tmp_path / "clf")
    assert load_bundle(tmp_path / "clf")[0].classes == clf.classes

import json

import numpy as np
import pandas as pd
import pytest
import torch

from fedsec.data.flows import FeatureFrame
from fedsec.errors import BundleError
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.learning.params import get_params
from fedsec.models.bundle import load_bundle, save_bundle
from fedsec.models.classifier import FamilyClassifier, calibrate_threshold
from fedsec.models.mlp import MLPSpec, build_mlp


def _model() -> tuple[FamilyClassifier, pd.DataFrame]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"bytes": rng.exponential(100, 300), "proto": ["tcp", "udp"] * 150})
    pre = fit_preprocessor(local_stats(FeatureFrame(frame, ("bytes",), ("proto",))), 4)
    spec = MLPSpec(pre.width, 3, (8,), 0.0)
    net = build_mlp(spec, torch.Generator().manual_seed(3))
    model = FamilyClassifier(
        spec,
        get_params(net),
        pre,
        ["benign", "dos", "recon"],
        "native",
        thresholds={"org1": 0.4, "*": 0.5},
        decision="fpr",
    )
    return model, frame


def test_round_trip_gives_identical_predictions(tmp_path):
    model, frame = _model()
    save_bundle(tmp_path / "b", model, {"scenario": "unit"})
    loaded, manifest = load_bundle(tmp_path / "b")
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert loaded.thresholds == model.thresholds and loaded.classes == model.classes
    assert manifest["provenance"] == {"scenario": "unit"}
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "bundle.json",
        "weights.safetensors",
    ]


def test_tampered_weights_are_refused(tmp_path):
    model, _ = _model()
    save_bundle(tmp_path / "b", model, {})
    weights = tmp_path / "b" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(tmp_path / "b")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_text("{not json"), "corrupt JSON"),
        (lambda p: p.write_text(json.dumps({"format": "pickle"})), "not a fedsec model bundle"),
        (lambda p: p.unlink(), "missing"),
    ],
)
def test_corrupt_manifest_is_a_clear_error(tmp_path, damage, message):
    model, _ = _model()
    save_bundle(tmp_path / "b", model, {})
    damage(tmp_path / "b" / "bundle.json")
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path / "b")


def test_inconsistent_manifest_is_refused(tmp_path):
    model, _ = _model()
    save_bundle(tmp_path / "b", model, {})
    path = tmp_path / "b" / "bundle.json"
    manifest = json.loads(path.read_text())
    manifest["classes"] = ["benign"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="outputs"):
        load_bundle(tmp_path / "b")


def test_threshold_decision_and_calibration():
    model, frame = _model()
    proba = model.predict_proba(frame)
    scores = model.malicious_score(proba)
    threshold = calibrate_threshold(scores, 0.1)
    assert np.mean(scores > threshold) <= 0.1
    labels = model.labels_from_proba(proba, threshold)
    assert set(labels[scores <= threshold]) == {"benign"}
    assert "benign" not in set(labels[scores > threshold])
    assert model.threshold_for("org1") == 0.4 and model.threshold_for("elsewhere") == 0.5

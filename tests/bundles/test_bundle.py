"""Classifier bundles: round trip, integrity, signatures and trust, validation before any
allocation."""

import base64
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fedsec.bundles.bundle import load_bundle, save_bundle
from fedsec.bundles.keys import user_trust
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError
from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.base import calibrate_threshold
from tests.bundles.forging import rewrite, small_classifier, stranger

REPO = Path(__file__).resolve().parents[2]


def test_round_trip_gives_identical_predictions(tmp_path):
    model, frame = small_classifier()
    save_bundle(tmp_path / "b", model, {"scenario": "unit"})
    loaded, manifest = load_bundle(tmp_path / "b")
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert loaded.thresholds_ == model.thresholds_ and loaded.classes == model.classes
    assert manifest["provenance"] == {"scenario": "unit"}
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "bundle.json",
        "bundle.sig",
        "weights.safetensors",
    ]


def test_a_guarded_bundle_keeps_its_clip_and_second_look(tmp_path):
    """A range guard's clip and second look are part of the scoring: a loaded bundle scores
    as the model it was saved from, and without the second look it would not."""
    model, frame = small_classifier()
    model.preprocessor = fit_preprocessor(
        local_stats(FeatureFrame(frame, ("bytes",), ("proto",))), 4, clip=1.0, recheck=0.5
    )
    save_bundle(tmp_path / "b", model, {})
    loaded, _ = load_bundle(tmp_path / "b")
    assert (loaded.preprocessor.clip, loaded.preprocessor.recheck) == (1.0, 0.5)
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    model.preprocessor.recheck = None
    assert not np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_tampered_weights_are_refused(tmp_path):
    model, _ = small_classifier()
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
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    damage(tmp_path / "b" / "bundle.json")
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path / "b")


def test_edited_weights_with_a_recomputed_sha256_are_refused(tmp_path):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    manifest_before = (tmp_path / "b" / "bundle.json").read_text()
    signature = (tmp_path / "b" / "bundle.sig").read_text()
    rewrite(tmp_path / "b", tensors=lambda t: t.update({k: v * 0 for k, v in t.items()}))
    (tmp_path / "b" / "bundle.sig").write_text(signature)  # the writer's genuine signature
    assert (tmp_path / "b" / "bundle.json").read_text() != manifest_before
    with pytest.raises(BundleError, match="changed after it was signed"):
        load_bundle(tmp_path / "b")


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(classes=m["classes"][::-1]),
        lambda m: m["thresholds"].update(org1=0.99),
        lambda m: m["preprocessing"]["numeric"][0].update(mean=1e6),
        lambda m: m.update(decision="argmax"),
        lambda m: m["provenance"].update(scenario="someone else's"),
    ],
    ids=["swapped classes", "threshold", "preprocessing", "decision", "provenance"],
)
def test_any_manifest_edit_breaks_the_signature(tmp_path, edit):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {"scenario": "unit"})
    path = tmp_path / "b" / "bundle.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(BundleError, match="changed after it was signed"):
        load_bundle(tmp_path / "b")
    with pytest.raises(BundleError, match="changed after it was signed"):
        load_bundle(tmp_path / "b", Trust(allow_unsigned=True))  # a forgery is never allowed


def test_a_damaged_signature_is_refused_even_when_unsigned_bundles_are_allowed(tmp_path):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    path = tmp_path / "b" / "bundle.sig"
    block = json.loads(path.read_text())
    signature = bytearray(base64.b64decode(block["signature"]))
    signature[5] ^= 0x01
    block["signature"] = base64.b64encode(bytes(signature)).decode()
    path.write_text(json.dumps(block))
    with pytest.raises(BundleError, match="signature does not verify"):
        load_bundle(tmp_path / "b", Trust(allow_unsigned=True))


@pytest.mark.parametrize(
    "field, value",
    [
        ("signed_at", "1999-01-01T00:00:00+00:00"),
        ("public_key", None),  # replaced by another key's below
        ("algorithm", "rsa-pss-sha256"),
    ],
)
def test_every_signed_field_of_the_signature_block_is_bound(tmp_path, field, value):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    path = tmp_path / "b" / "bundle.sig"
    block = json.loads(path.read_text())
    block[field] = value if value is not None else stranger().sign(b"")["public_key"]
    path.write_text(json.dumps(block))
    with pytest.raises(BundleError, match="signature does not verify"):
        load_bundle(tmp_path / "b", Trust(allow_unsigned=True))


def test_a_bundle_re_signed_by_an_untrusted_key_is_refused_until_trusted(tmp_path):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    forger = stranger()
    rewrite(tmp_path / "b", lambda m: m.update(classes=m["classes"][::-1]), signer=forger)
    with pytest.raises(BundleError, match="not one you trust") as refused:
        load_bundle(tmp_path / "b")
    assert "--trust" in str(refused.value) and "fedsec keys trust" in str(refused.value)
    public = tmp_path / "forger.pub"
    public.write_bytes(forger.sign(b"")["public_key"].encode())
    loaded, _ = load_bundle(tmp_path / "b", user_trust([public]))
    assert loaded.classes == ["recon", "dos", "benign"]


def test_unsigned_bundles_are_refused_unless_explicitly_allowed(tmp_path):
    model, frame = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    (tmp_path / "b" / "bundle.sig").unlink()
    with pytest.raises(BundleError, match="not signed") as refused:
        load_bundle(tmp_path / "b")
    assert "--allow-unsigned" in str(refused.value) and "fedsec keys sign" in str(refused.value)
    loaded, _ = load_bundle(tmp_path / "b", Trust(allow_unsigned=True))
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_a_key_given_twice_in_the_manifest_is_refused(tmp_path):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    path = tmp_path / "b" / "bundle.json"
    text = path.read_text()
    path.write_text(text.replace('"decision": "fpr"', '"decision": "fpr", "decision": "argmax"'))
    with pytest.raises(BundleError, match="appears twice"):
        load_bundle(tmp_path / "b")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(classes=["benign"]), "3 outputs but there are 1 classes"),
        (lambda m: m.update(classes=["benign", "dos", "dos"]), "classes must be distinct"),
        (lambda m: m["thresholds"].update(org1=1.5), "thresholds.org1"),
        (lambda m: m["thresholds"].update(org1=-0.1), "thresholds.org1"),
        (lambda m: m["architecture"].update(inputs=7), "the preprocessing makes"),
        (lambda m: m["architecture"].update(dropout=1.0), "architecture.dropout"),
        (lambda m: m["preprocessing"].update(hash_buckets=5), "feature names do not match"),
        (lambda m: m["preprocessing"]["numeric"][0].update(std=0.0), "std"),
        (lambda m: m["preprocessing"].update(recheck=20.0), "recheck 20.0 must be below clip"),
        (lambda m: m["preprocessing"].update(recheck=-1.0), "preprocessing.recheck"),
        (lambda m: m.update(decision="random"), "decision"),
        (lambda m: m.update(extra_field=1), "extra_field"),
        (lambda m: m["architecture"].update(hidden=[9]), "tensor net.0.weight is F32"),
    ],
)
def test_invalid_manifests_are_refused_even_when_signed(tmp_path, edit, message):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    rewrite(tmp_path / "b", edit)
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path / "b")


def test_non_finite_numbers_are_refused(tmp_path):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    path = tmp_path / "b" / "bundle.json"
    path.write_text(path.read_text().replace('"org1": 0.4', '"org1": NaN'))
    with pytest.raises(BundleError, match="NaN is not a finite number"):
        load_bundle(tmp_path / "b")
    path.write_text(path.read_text().replace('"org1": NaN', '"org1": 1e999'))
    with pytest.raises(BundleError, match="1e999 is not a finite number"):
        load_bundle(tmp_path / "b")


def test_non_finite_weights_are_refused(tmp_path):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    rewrite(tmp_path / "b", tensors=lambda t: t["net.0.bias"].__setitem__(0, np.nan))
    with pytest.raises(BundleError, match=r"net\.0\.bias holds NaN"):
        load_bundle(tmp_path / "b")


def test_a_huge_architecture_is_refused_before_anything_is_allocated(tmp_path):
    """hidden = [30000, 30000] would need 3.6 GB: refused by validation in a process that
    cannot allocate even 1 GB more than it needs to import fedsec."""
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    rewrite(tmp_path / "b", lambda m: m["architecture"].update(hidden=[30000, 30000]))
    script = textwrap.dedent(
        """
        import resource, sys
        from fedsec.core.errors import BundleError
        from fedsec.bundles.bundle import load_bundle
        import torch
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        limit = pages * resource.getpagesize() + (1 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            load_bundle(sys.argv[1])
        except BundleError as error:
            print("refused:", error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "b")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout
    assert "900," in done.stdout and "before allocating anything" in done.stdout


def test_threshold_decision_and_calibration():
    model, frame = small_classifier()
    proba = model.predict_proba(frame)
    scores = model.malicious_score(proba)
    threshold = calibrate_threshold(scores, 0.1)
    assert np.mean(scores > threshold) <= 0.1
    labels = model.labels_from_proba(proba, threshold)
    assert set(labels[scores <= threshold]) == {"benign"}
    assert "benign" not in set(labels[scores > threshold])
    assert model.threshold_for("org1") == 0.4 and model.threshold_for("elsewhere") == 0.5

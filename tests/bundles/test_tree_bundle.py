"""Tree bundles (``kind = "tree-classifier"``): the booster travels as XGBoost UBJSON beside
the signed manifest; its size and sha256 are checked before XGBoost reads a byte of it."""

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.keys import default_signer
from fedsec.bundles.legacy_signing import sign_unsigned
from fedsec.bundles.signing import Trust, signature_block
from fedsec.bundles.tree_bundle import load_tree_bundle, save_tree_bundle
from fedsec.bundles.tree_manifest import BOOSTER, MAX_BOOSTER_BYTES
from fedsec.core.errors import BundleError
from fedsec.data.flows import concat_tables
from fedsec.experiments.driver import run_experiment
from fedsec.models.trees import TreeClassifier
from fedsec.scenarios.loading import load_scenario

SMALL = [
    'model.kind="xgboost"',
    "data.max_rows=3000",
    "rounds=4",
    "evaluation.curve_points=1",
    'evaluation.arms=["centralized"]',
    'evaluation.decision="fpr"',
]


@pytest.fixture(scope="module")
def trained(data_dir):
    run = run_experiment(load_scenario("nslkdd-5org-disjoint", SMALL), data_dir)
    _, model = run.product()
    test = concat_tables([o.test for o in run.federation.orgs]).features(model.view).frame
    return model, test


@pytest.fixture
def bundle(trained, tmp_path):
    return save_tree_bundle(tmp_path / "model", trained[0], {"scenario": "nslkdd-5org-disjoint"})


def test_a_tree_bundle_round_trips_to_the_same_decisions(trained, bundle):
    model, test = trained
    assert isinstance(model, TreeClassifier)
    loaded, manifest = load_tree_bundle(bundle)
    assert sorted(p.name for p in bundle.iterdir()) == ["booster.ubj", "bundle.json", "bundle.sig"]
    assert manifest["kind"] == "tree-classifier" and manifest["booster"]["rounds"] == 4
    assert loaded.thresholds_ == model.thresholds_ and loaded.classes == model.classes
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))
    for org in ("org1", "org3"):
        np.testing.assert_array_equal(loaded.predict(test, org), model.predict(test, org))


def test_the_booster_is_never_pickled(bundle):
    data = (bundle / BOOSTER).read_bytes()
    assert data[:1] == b"{" and b"learner" in data  # UBJSON: an object holding the learner
    assert not data.startswith(b"\x80")  # a pickle's protocol marker


def _flip_a_byte(bundle) -> None:
    path = bundle / BOOSTER
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_tampered_booster_is_refused_naming_the_file(bundle):
    _flip_a_byte(bundle)
    with pytest.raises(BundleError, match=r"booster\.ubj: sha256 does not match bundle\.json"):
        load_tree_bundle(bundle)


def test_a_booster_of_another_size_is_refused_before_it_is_hashed(bundle):
    path = bundle / BOOSTER
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(BundleError, match=r"booster\.ubj: .* bytes, but bundle\.json says"):
        load_tree_bundle(bundle)


def test_a_booster_beyond_the_size_bound_is_refused_by_the_manifest(bundle):
    rewrite_booster(bundle, lambda m: m["booster"].update(size=MAX_BOOSTER_BYTES + 1))
    with pytest.raises(BundleError, match=r"booster\.size: Input should be less than or equal"):
        load_tree_bundle(bundle)


def test_an_altered_booster_under_a_forged_manifest_fails_the_signature(bundle, tmp_path):
    """Recomputing the checksum is not enough: the signature covers it."""
    _flip_a_byte(bundle)
    manifest_path = bundle / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["weights_sha256"] = hashlib.sha256((bundle / BOOSTER).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="refused"):
        load_tree_bundle(bundle)


def test_a_corrupt_booster_signed_by_a_trusted_key_is_a_clear_error(bundle):
    """Even a booster whose checksum and signature pass must parse and match its manifest."""
    rewrite_booster(bundle, lambda m: None, booster=b"{not a model")
    with pytest.raises(BundleError, match=r"booster\.ubj: unreadable XGBoost model"):
        load_tree_bundle(bundle)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["booster"].update(rounds=5), r"booster\.ubj: the booster has .* 4 rounds"),
        (lambda m: m["booster"].update(outputs=2), "booster has 2 outputs but there are"),
        (lambda m: m["booster"].update(format="pickle"), "booster.format"),
        (lambda m: m["thresholds"].update(org1=1.5), "thresholds.org1"),
        (lambda m: m.update(classes=m["classes"][:-1]), "outputs but there are"),
    ],
)
def test_a_manifest_that_does_not_describe_its_booster_is_refused(bundle, edit, message):
    rewrite_booster(bundle, edit)
    with pytest.raises(BundleError, match=message):
        load_tree_bundle(bundle)


def test_a_tree_bundle_is_not_opened_as_a_network_one(bundle):
    with pytest.raises(BundleError, match="a 'tree-classifier' bundle, not a 'family-classifier'"):
        load_bundle(bundle)


def test_an_unsigned_tree_bundle_can_be_signed_once_its_booster_checks_out(bundle):
    (bundle / "bundle.sig").unlink()
    with pytest.raises(BundleError, match="not signed"):
        load_tree_bundle(bundle)
    opened = sign_unsigned(bundle)
    assert opened.payload == (bundle / BOOSTER).read_bytes()
    load_tree_bundle(bundle)
    _flip_a_byte(bundle)
    with pytest.raises(BundleError, match="sha256 does not match"):
        load_tree_bundle(bundle, Trust(allow_unsigned=True))


def test_an_unsigned_bundle_whose_booster_xgboost_cannot_read_is_not_signed(bundle):
    rewrite_booster(bundle, lambda m: None, booster=b"{not a model")
    (bundle / "bundle.sig").unlink()
    with pytest.raises(BundleError, match=r"booster\.ubj: unreadable XGBoost model"):
        sign_unsigned(bundle)
    assert not (bundle / "bundle.sig").exists()


def rewrite_booster(directory, edit, booster: bytes | None = None) -> None:
    """Edit the manifest (and replace the booster, with its size), recompute the booster's
    sha256 and sign again with the user's own trusted key, as a forger holding it would."""
    manifest_path = directory / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    if booster is not None:
        (directory / BOOSTER).write_bytes(booster)
        manifest["booster"]["size"] = len(booster)
    edit(manifest)
    manifest["weights_sha256"] = hashlib.sha256((directory / BOOSTER).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    block = signature_block(manifest, manifest["weights_sha256"], default_signer())
    (directory / "bundle.sig").write_text(json.dumps(block))

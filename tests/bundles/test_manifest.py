"""The manifest's envelope (format, version, kind) is a typed model checked before anything
else; every problem is a BundleError naming the file and the field."""

import json
import shutil
from pathlib import Path

import pytest

from fedsec.bundles.bundle import bundle_kind, load_bundle, load_manifest
from fedsec.bundles.legacy_signing import sign_unsigned
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError

WRITTEN = Path(__file__).parent / "data" / "v1"  # bundles written before the typed envelope


def _copy(tmp_path: Path, name: str = "classifier") -> Path:
    return Path(shutil.copytree(WRITTEN / name, tmp_path / name))


def _edit(bundle: Path, edit) -> None:
    path = bundle / "bundle.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.pop("format"), r"not a fedsec model bundle \(format field\)"),
        (lambda m: m.update(format="onnx"), r"not a fedsec model bundle \(format field\)"),
        (lambda m: m.update(version=2), "bundle version 2 unsupported .*reads version 1"),
        (lambda m: m.update(version="1"), "version: Input should be a valid integer"),
        (lambda m: m.update(version=True), "version: Input should be a valid integer"),
        (lambda m: m.pop("version"), "version: Field required"),
        (lambda m: m.update(kind="pca"), "unknown bundle kind 'pca' \\(known: family-classifier"),
        (lambda m: m.update(kind=3), "unknown bundle kind 3 "),
    ],
)
def test_a_bad_envelope_is_named_before_the_signature_is_read(tmp_path, edit, message):
    bundle = _copy(tmp_path)
    _edit(bundle, edit)
    with pytest.raises(BundleError, match=message) as refused:
        load_manifest(bundle)
    assert str(bundle / "bundle.json") in str(refused.value)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle)


def test_a_manifest_that_is_not_an_object_is_refused(tmp_path):
    bundle = _copy(tmp_path)
    (bundle / "bundle.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="not a fedsec model bundle"):
        load_manifest(bundle)


def test_a_bundle_without_a_kind_is_a_classifier(tmp_path):
    bundle = _copy(tmp_path)
    _edit(bundle, lambda m: m.pop("kind"))
    assert bundle_kind(load_manifest(bundle)) == "family-classifier"
    assert bundle_kind(json.loads((WRITTEN / "deeplog" / "bundle.json").read_text())) == "deeplog"


def test_signing_a_bundle_of_an_unknown_kind_is_a_clear_refusal(tmp_path):
    """Regression: ``fedsec keys sign`` on a bundle of an unknown kind raised a KeyError."""
    bundle = _copy(tmp_path)
    (bundle / "bundle.sig").unlink()
    _edit(bundle, lambda m: m.update(kind="pca"))
    with pytest.raises(BundleError, match="unknown bundle kind 'pca'"):
        sign_unsigned(bundle)
    assert not (bundle / "bundle.sig").exists()


def test_an_unsigned_bundle_of_a_known_kind_still_loads_when_allowed(tmp_path):
    bundle = _copy(tmp_path, "ae")
    (bundle / "bundle.sig").unlink()
    with pytest.raises(BundleError, match="not signed"):
        load_bundle(bundle)  # wrong kind is only reported once the bundle may be used
    with pytest.raises(BundleError, match="'anomaly-detector' bundle, not a 'family-classifier'"):
        load_bundle(bundle, Trust(allow_unsigned=True))

"""``bundle.sig`` is read through a typed model: every field of the block is checked and a bad
one is named, before any cryptography runs."""

import json
import shutil
from pathlib import Path

import pytest

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError

WRITTEN = Path(__file__).parent / "data" / "v1"


@pytest.fixture
def bundle(tmp_path) -> Path:
    return Path(shutil.copytree(WRITTEN / "classifier", tmp_path / "classifier"))


def _damage(bundle: Path, edit) -> None:
    path = bundle / "bundle.sig"
    block = json.loads(path.read_text())
    edit(block)
    path.write_text(json.dumps(block))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda b: b.pop("signed_at"), "does not verify .*signed_at: Field required"),
        (lambda b: b.pop("signer"), "does not verify .*signer: Field required"),
        (lambda b: b.update(public_key=5), "does not verify .*public_key: Input should be a valid"),
        (lambda b: b.update(signature=""), "does not verify .*signature: String should have"),
        (lambda b: b.update(manifest_sha256="ab"), "does not verify .*manifest_sha256: String"),
        (lambda b: b.update(note="unsigned"), "does not verify .*note: Extra inputs"),
        (lambda b: b.update(algorithm="rsa-pss-sha256"), "does not verify .*certificates: Field"),
        (lambda b: b.update(algorithm="dsa"), "unknown signature algorithm 'dsa'"),
        (lambda b: b.update(version=2), "signature version 2 unsupported"),
        (lambda b: b.update(version=True), "signature version True unsupported"),
        (lambda b: b.update(format="gpg"), "not a fedsec bundle signature"),
    ],
)
def test_a_malformed_signature_block_is_refused_naming_the_field(bundle, edit, message):
    _damage(bundle, edit)
    with pytest.raises(BundleError, match=message) as refused:
        load_bundle(bundle, Trust(allow_unsigned=True))  # a damaged signature is never allowed
    assert str(bundle / "bundle.sig") in str(refused.value)


def test_a_block_that_is_not_an_object_is_refused(bundle):
    (bundle / "bundle.sig").write_text('["ed25519"]')
    with pytest.raises(BundleError, match="not a fedsec bundle signature"):
        load_bundle(bundle, Trust(allow_unsigned=True))


def test_an_intact_block_written_by_earlier_code_verifies(bundle):
    trust = Trust()
    trust.add_file(WRITTEN / "signer.pub")
    model, _ = load_bundle(bundle, trust)
    assert model.classes == ["benign", "dos", "recon"]

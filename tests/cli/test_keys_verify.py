"""``fedsec keys verify BUNDLE``: a bundle checked without scoring anything: the signer's
fingerprint, the model's sha256s and kind; exit 0 when trusted, 2 when not, forged or altered."""

from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from fedsec.bundles.bundle import save_bundle
from fedsec.bundles.keys import load_signer
from fedsec.cli import app
from tests.bundles.forging import small_classifier
from tests.cli.test_keys import home  # noqa: F401 (fixture)

runner = CliRunner()


def _signed(tmp_path):
    assert runner.invoke(app, ["keys", "generate", "--out", str(tmp_path / "c.key")]).exit_code == 0
    model, _ = small_classifier()
    return save_bundle(tmp_path / "b", model, {}, load_signer(tmp_path / "c.key"))


def test_a_bundle_of_a_trusted_key_verifies(home, tmp_path):  # noqa: F811
    bundle = _signed(tmp_path)
    signer = json.loads((bundle / "bundle.sig").read_text())["signer"]
    untrusted = runner.invoke(app, ["keys", "verify", str(bundle)])
    assert untrusted.exit_code == 2 and "NOT trusted" in untrusted.output
    trusted = runner.invoke(
        app, ["keys", "verify", str(bundle), "--trust", f"{tmp_path}/c.key.pub"]
    )
    assert trusted.exit_code == 0, trusted.output
    text = trusted.output
    manifest = hashlib.sha256((bundle / "bundle.json").read_bytes()).hexdigest()
    weights = hashlib.sha256((bundle / "weights.safetensors").read_bytes()).hexdigest()
    assert f"signer:  {signer}" in text and signer.startswith("SHA256:")
    assert f"sha256:  {manifest}" in text and f"weights: {weights}" in text
    assert "kind:    family-classifier" in text


def test_an_altered_bundle_is_refused(home, tmp_path):  # noqa: F811
    bundle = _signed(tmp_path)
    weights = bundle / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    result = runner.invoke(app, ["keys", "verify", str(bundle), "--trust", f"{tmp_path}/c.key.pub"])
    assert result.exit_code == 2 and "sha256 does not match" in " ".join(result.output.split())

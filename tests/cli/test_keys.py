"""fedsec keys as a user runs it: generate, trust, show, sign an old bundle."""

import os
import stat

import pytest
from typer.testing import CliRunner

from fedsec.bundles.bundle import load_bundle, save_bundle
from fedsec.bundles.keys import load_signer
from fedsec.cli import app
from tests.bundles.forging import rewrite, small_classifier

runner = CliRunner()


def _text(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("FEDSEC_HOME", str(home))
    monkeypatch.delenv("FEDSEC_SIGNING_KEY", raising=False)
    monkeypatch.delenv("FEDSEC_TRUSTED_KEYS", raising=False)
    return home


def test_generate_writes_a_private_key_and_never_replaces_it(home, tmp_path):
    made = runner.invoke(app, ["keys", "generate"])
    assert made.exit_code == 0, made.output
    key = home / "signing.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and "SHA256:" in _text(made)
    again = runner.invoke(app, ["keys", "generate"])
    assert again.exit_code == 2 and "never replaces a key" in _text(again)
    elsewhere = runner.invoke(app, ["keys", "generate", "--out", str(tmp_path / "ci.key")])
    assert elsewhere.exit_code == 0 and "export FEDSEC_SIGNING_KEY=" in _text(elsewhere)


def test_trusting_a_colleagues_key_lets_their_bundles_load(home, tmp_path):
    assert runner.invoke(app, ["keys", "generate", "--out", str(tmp_path / "c.key")]).exit_code == 0
    model, _ = small_classifier()
    bundle = save_bundle(tmp_path / "b", model, {}, load_signer(tmp_path / "c.key"))
    with pytest.raises(Exception, match="not one you trust"):
        load_bundle(bundle)
    trusted = runner.invoke(app, ["keys", "trust", str(tmp_path / "c.key.pub")])
    assert trusted.exit_code == 0, trusted.output
    assert "compare this fingerprint" in _text(trusted)
    assert load_bundle(bundle)[0].classes == model.classes
    shown = runner.invoke(app, ["keys", "show"])
    assert shown.exit_code == 0 and _text(trusted).split()[1] in _text(shown)


def test_sign_vouches_for_an_unsigned_bundle_once_it_checks_out(home, tmp_path):
    model, _ = small_classifier()
    bundle = save_bundle(tmp_path / "b", model, {"scenario": "old"})
    (bundle / "bundle.sig").unlink()  # as written before bundles were signed
    signed = runner.invoke(app, ["keys", "sign", str(bundle)])
    assert signed.exit_code == 0, signed.output
    assert "scenario old" in _text(signed)
    assert load_bundle(bundle)[0].classes == model.classes
    again = runner.invoke(app, ["keys", "sign", str(bundle)])
    assert again.exit_code == 2 and "already signed" in _text(again)


def test_sign_refuses_a_bundle_that_fails_its_checks(home, tmp_path):
    model, _ = small_classifier()
    bundle = save_bundle(tmp_path / "b", model, {})
    rewrite(bundle, lambda m: m["thresholds"].update(org1=7.0))
    (bundle / "bundle.sig").unlink()
    refused = runner.invoke(app, ["keys", "sign", str(bundle)])
    assert refused.exit_code == 2 and "thresholds.org1" in _text(refused)
    assert not (bundle / "bundle.sig").exists()


def test_show_never_promises_to_create_a_named_key(home, tmp_path, monkeypatch):
    """A $FEDSEC_SIGNING_KEY that names no key was shown "created when you first write a
    bundle", though signing refuses it: a named key is never created."""
    monkeypatch.setenv("FEDSEC_SIGNING_KEY", str(tmp_path / "missing.key"))
    shown = runner.invoke(app, ["keys", "show"])
    assert shown.exit_code == 0, shown.output
    assert "not a key file: $FEDSEC_SIGNING_KEY must name an existing key" in _text(shown)
    assert "created when" not in _text(shown)
    monkeypatch.delenv("FEDSEC_SIGNING_KEY")
    assert "created when you first write a bundle" in _text(runner.invoke(app, ["keys", "show"]))

"""The user's signing key and trusted keys: created private, never replaced, found as documented."""

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fedsec.bundles import keys
from fedsec.core.errors import BundleError, FedsecError
from fedsec.core.keyfiles import ExposedSecretError


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("FEDSEC_HOME", str(home))
    monkeypatch.delenv("FEDSEC_SIGNING_KEY", raising=False)
    monkeypatch.delenv("FEDSEC_TRUSTED_KEYS", raising=False)
    return home


def test_the_default_key_is_created_once_private_and_announced_once(home):
    told = []
    first = keys.default_signer(notify=told.append)
    second = keys.default_signer(notify=told.append)
    key = home / "signing.key"
    assert _mode(home) == 0o700 and _mode(key) == 0o600 and _mode(f"{key}.pub") == 0o644
    assert len(told) == 1 and "signing.key" in told[0] and "--trust" in told[0]
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert first.key.public_key().public_bytes(*raw) == second.key.public_key().public_bytes(*raw)


def test_an_existing_key_is_never_replaced(home, tmp_path):
    path, _ = keys.generate_key(tmp_path / "mine.key")
    before = path.read_bytes(), keys.public_path(path).read_bytes()
    with pytest.raises(keys.SigningKeyError, match="never replaces a key"):
        keys.generate_key(path)
    keys.public_path(path).unlink()
    with pytest.raises(keys.SigningKeyError, match="never replaces a key"):
        keys.generate_key(path)  # the private key alone is enough to refuse
    assert path.read_bytes() == before[0]


def test_a_named_key_is_used_and_never_created(home, tmp_path, monkeypatch):
    monkeypatch.setenv("FEDSEC_SIGNING_KEY", str(tmp_path / "missing.key"))
    with pytest.raises(keys.SigningKeyError, match="fedsec keys generate"):
        keys.default_signer()
    assert not (tmp_path / "missing.key").exists() and not home.exists()
    _, fingerprint = keys.generate_key(tmp_path / "missing.key")
    signer = keys.default_signer()
    assert keys.key_fingerprint(signer.key.public_key()) == fingerprint


def test_an_exposed_signing_key_is_refused(home):
    keys.default_signer(notify=lambda _: None)
    os.chmod(home / "signing.key", 0o644)
    with pytest.raises(ExposedSecretError, match="chmod 600"):
        keys.default_signer()


def test_trust_gathers_own_key_folder_and_extra_files(home, tmp_path, monkeypatch):
    own = keys.default_signer(notify=lambda _: None)
    folder = tmp_path / "trusted"
    folder.mkdir()
    monkeypatch.setenv("FEDSEC_TRUSTED_KEYS", str(folder))
    colleague, fingerprint = keys.generate_key(tmp_path / "colleague.key")
    (folder / "colleague.pub").write_bytes(keys.public_path(colleague).read_bytes())
    extra, extra_fingerprint = keys.generate_key(tmp_path / "extra.key")
    trust = keys.user_trust([keys.public_path(extra)])
    assert set(trust.keys) == {
        keys.key_fingerprint(own.key.public_key()),
        fingerprint,
        extra_fingerprint,
    }
    assert "your own key" in trust.keys[keys.key_fingerprint(own.key.public_key())]


def test_only_ed25519_keys_and_ca_certificates_can_be_trusted(home, tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    path = tmp_path / "rsa.pub"
    path.write_bytes(
        rsa_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(BundleError, match="trusted keys must be Ed25519"):
        keys.user_trust([path])
    junk = tmp_path / "junk.pub"
    junk.write_text("not a key")
    with pytest.raises(BundleError, match="not a PEM public key or CA certificate"):
        keys.user_trust([junk])
    with pytest.raises(BundleError, match="cannot read trusted key"):
        keys.user_trust([tmp_path / "absent.pub"])


def test_a_leaf_certificate_is_not_a_trust_anchor(home, tmp_path):
    from tests.engines.nvflare.kits import _cert

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _cert("site", ed25519.Ed25519PrivateKey.generate(), "ca", ca_key)
    path = tmp_path / "leaf.pem"
    path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(BundleError, match="not a CA certificate"):
        keys.user_trust([path])


def test_a_key_path_that_is_a_folder_or_under_a_file_is_refused(home, tmp_path):
    """--out FOLDER was "already exists"; --out FILE/k ended in a FileExistsError traceback."""
    from typer.testing import CliRunner

    from fedsec.cli import app

    (tmp_path / "a.csv").write_text("x\n")
    result = CliRunner().invoke(app, ["keys", "generate", "--out", str(tmp_path / "a.csv" / "k")])
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in " ".join(result.output.split())
    with pytest.raises(keys.SigningKeyError, match=r"is a folder; give the key's file name"):
        keys.generate_key(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_trusting_a_key_with_the_home_under_a_file_is_refused(home, tmp_path, monkeypatch):
    """keys trust with $FEDSEC_HOME naming a file ended in a NotADirectoryError traceback."""
    public = keys.public_path(keys.generate_key(tmp_path / "theirs.key")[0])
    (tmp_path / "file").write_text("x\n")
    monkeypatch.setenv("FEDSEC_HOME", str(tmp_path / "file"))
    with pytest.raises(FedsecError, match=r"is a file, not a folder; choose another \$FEDSEC"):
        keys.add_trusted(public)

"""A person's signing key and the keys they trust, on disk.

* The signing key: ``--signing-key``-style explicit paths, else ``$FEDSEC_SIGNING_KEY``, else
  ``$FEDSEC_HOME/signing.key`` (``$FEDSEC_HOME`` defaults to ``~/.config/fedsec``), created on
  first use (and announced once); an existing key is never overwritten. Private keys are written
  ``0600`` (their folder ``0700``) and refused when other users can read them.
* Trusted keys: the user's own public key, every ``*.pub`` / ``*.pem`` / ``*.crt`` in
  ``$FEDSEC_TRUSTED_KEYS`` (default ``$FEDSEC_HOME/trusted``), and files given with ``--trust``.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from fedsec.bundles.signing import KeySigner, Trust, key_fingerprint
from fedsec.core import atomic, keyfiles, outputs
from fedsec.core.errors import FedsecError

HOME_ENV = "FEDSEC_HOME"
KEY_ENV = "FEDSEC_SIGNING_KEY"
TRUSTED_ENV = "FEDSEC_TRUSTED_KEYS"
KEY_NAME = "signing.key"
TRUSTED_SUFFIXES = (".pub", ".pem", ".crt")


class SigningKeyError(FedsecError, ValueError):
    """A signing key cannot be created, read or used."""


def announce(message: str) -> None:
    """Tell the user once about a key fedsec created for them (stderr, not the output)."""
    print(message, file=sys.stderr)


def fedsec_home() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "fedsec"


def default_key_path() -> Path:
    return fedsec_home() / KEY_NAME


def public_path(key: Path) -> Path:
    return Path(f"{key}.pub")


def trusted_dir() -> Path:
    return Path(os.environ.get(TRUSTED_ENV) or fedsec_home() / "trusted")


def generate_key(path: Path) -> tuple[Path, str]:
    """A new Ed25519 key at ``path`` (``0600``) and its public key at ``path.pub``; the
    fingerprint. Refuses to replace an existing key."""
    path = Path(path)
    if path.is_dir():
        raise SigningKeyError(
            f"{path}: is a folder; give the key's file name (e.g. {path / 'signing.key'})"
        )
    outputs.check_writable(path, option="key file")  # under a file: a traceback from mkdir
    for existing in (path, public_path(path)):
        if existing.exists():
            raise SigningKeyError(f"{existing}: already exists; fedsec never replaces a key")
    if path.parent == fedsec_home():
        keyfiles.secret_folder(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        atomic.create_new(path, private, keyfiles.SECRET_FILE)
    except FileExistsError as error:
        raise SigningKeyError(f"{path}: already exists; fedsec never replaces a key") from error
    public = key.public_key()
    atomic.create_new(public_path(path), _public_pem(public), 0o644)
    return path, key_fingerprint(public)


def _public_pem(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signer(path: Path) -> KeySigner:
    """The Ed25519 key at ``path``, once only its owner can read it."""
    path = Path(path)
    if path.is_dir():
        raise SigningKeyError(f"{path}: is a folder, not a signing key (the key's file is)")
    if not path.is_file():
        raise SigningKeyError(f"{path}: signing key not found (create one: fedsec keys generate)")
    keyfiles.check_private(path, "signing key")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{path}: not an unencrypted PEM private key ({error})") from error
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: a {type(key).__name__}; signing keys are Ed25519")
    return KeySigner(key)


def configured_key() -> tuple[Path, bool]:
    """The signing key's path and whether the user named it (``$FEDSEC_SIGNING_KEY``)."""
    named = os.environ.get(KEY_ENV)
    return (Path(named), True) if named else (default_key_path(), False)


def default_signer(path: Path | None = None, notify: Callable[[str], None] = announce) -> KeySigner:
    """The key bundles are signed with: ``path``, ``$FEDSEC_SIGNING_KEY``, or the per-user
    default, which is created (never replaced) the first time it is needed."""
    if path is not None:
        return load_signer(path)
    path, named = configured_key()
    if not named and not path.exists():
        try:
            _, fingerprint = generate_key(path)
        except SigningKeyError:
            return load_signer(path)  # another process created it first
        notify(
            f"fedsec: created your bundle signing key {path} (private, mode 600) and its public "
            f"key {public_path(path)} ({fingerprint}). Every model bundle you write is signed "
            "with it; give the .pub file to whoever runs your models (fedsec detect --trust)."
        )
    return load_signer(path)


def own_public_key() -> tuple[ed25519.Ed25519PublicKey, Path] | None:
    """The public half of the user's signing key and where it is, when they have one (it is
    never created here)."""
    path, _ = configured_key()
    public = public_path(path)
    if public.is_file():
        key = serialization.load_pem_public_key(public.read_bytes())
        if isinstance(key, ed25519.Ed25519PublicKey):
            return key, public
    if path.is_file():
        return load_signer(path).key.public_key(), path
    return None


def trusted_files() -> list[Path]:
    folder = trusted_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in TRUSTED_SUFFIXES and p.is_file())


def user_trust(extra: Iterable[Path] = (), allow_unsigned: bool = False) -> Trust:
    """The user's own key, the trusted-keys folder, and ``extra`` files (``--trust``)."""
    trust = Trust(allow_unsigned=allow_unsigned)
    own = own_public_key()
    if own is not None:
        trust.add_key(own[0], f"your own key {own[1]}")
    for path in [*trusted_files(), *extra]:
        trust.add_file(path)
    return trust


def add_trusted(path: Path) -> tuple[Path, str]:
    """Copy a public key or CA certificate into the trusted-keys folder; where, fingerprint."""
    probe = Trust()
    fingerprint = probe.add_file(path)
    folder = trusted_dir()
    where = f"${TRUSTED_ENV} or ${HOME_ENV}"  # under a file: a traceback from mkdir
    outputs.check_writable(folder / "trusted.pub", option=where)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".pem" if probe.authorities else ".pub"
    name = fingerprint.replace("SHA256:", "").replace("/", "_").replace("+", "-").replace(":", "")
    target = folder / f"{name[:32]}{suffix}"
    if not target.exists():
        shutil.copyfile(path, target)
    return target, fingerprint


def describe(path: Path) -> str:
    """A trusted file's kind and fingerprint, for ``fedsec keys show``."""
    probe = Trust()
    fingerprint = probe.add_file(path)
    if probe.authorities:
        return f"CA {probe.authorities[0][0].subject.rfc4514_string()} {fingerprint}"
    return f"key {fingerprint}"

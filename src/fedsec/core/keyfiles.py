"""Private key files: readable by their owner only, checked before they are used.

A private key (a signing key, a startup kit's TLS key, the project's root CA key, a CKKS secret
context) that other local users can read is as good as published. fedsec writes them ``0600`` in
folders that hold only secrets ``0700``, and refuses to use one that is group- or
world-readable, naming the file and the fix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fedsec.core.errors import FedsecError

SECRET_FILE = 0o600
SECRET_FOLDER = 0o700


class ExposedSecretError(FedsecError, PermissionError):
    """A private key file is readable (or writable) by users other than its owner."""


def exposure(path: Path) -> int:
    """The group and other permission bits of ``path`` (0 when only its owner has access)."""
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077


def check_private(path: Path, what: str = "private key") -> Path:
    """``path`` if only its owner may read it; otherwise a clear error with the fix."""
    path = Path(path)
    bits = exposure(path)
    if bits:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        fix = "chmod 700" if path.is_dir() else "chmod 600"
        raise ExposedSecretError(
            f"{path}: {what} is accessible to other users (mode {mode:04o}); "
            f"refusing to use it. Fix: {fix} '{path}'"
        )
    return path


def restrict(path: Path) -> Path:
    """Make an existing secret file ``0600`` (a folder of secrets ``0700``)."""
    path = Path(path)
    os.chmod(path, SECRET_FOLDER if path.is_dir() else SECRET_FILE)
    return path


def secret_folder(path: Path) -> Path:
    """A folder for secrets: created ``0700`` (an existing one is narrowed to ``0700``)."""
    path = Path(path)
    path.mkdir(mode=SECRET_FOLDER, parents=True, exist_ok=True)
    return restrict(path)

"""Private key files: refused when others can read them (atomic.create_new writes them)."""

import os
import stat

import pytest

from fedsec.core import keyfiles
from fedsec.core.keyfiles import ExposedSecretError


def test_a_group_or_world_readable_key_is_refused_with_the_fix(tmp_path):
    key = tmp_path / "client.key"
    key.write_text("secret")
    os.chmod(key, 0o644)
    with pytest.raises(ExposedSecretError) as refused:
        keyfiles.check_private(key)
    message = str(refused.value)
    assert "mode 0644" in message and f"chmod 600 '{key}'" in message
    os.chmod(key, 0o640)
    with pytest.raises(ExposedSecretError, match="mode 0640"):
        keyfiles.check_private(key)
    os.chmod(key, 0o600)
    assert keyfiles.check_private(key) == key


def test_a_secret_folder_is_0700(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    keyfiles.secret_folder(folder)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    with pytest.raises(ExposedSecretError, match="chmod 700"):
        os.chmod(folder, 0o750)
        keyfiles.check_private(folder, "folder of private keys")

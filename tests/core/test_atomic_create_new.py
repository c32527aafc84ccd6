"""A new file that never replaces another (private keys, a bundle's signature): the one atomic
helper, with its mode from creation on, its fallback where the file system has no hard links,
a refused write named, and what killed runs left removed."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from fedsec.core import atomic
from fedsec.core.errors import OutputError


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("wanted", [0o600, 0o644])
def test_create_new_never_replaces_and_has_its_mode(tmp_path, wanted):
    path = atomic.create_new(tmp_path / "k", b"one", wanted)
    assert mode(path) == wanted and path.read_bytes() == b"one"
    with pytest.raises(FileExistsError):
        atomic.create_new(path, b"two", wanted)
    assert path.read_bytes() == b"one"
    assert os.listdir(tmp_path) == ["k"]


def test_a_file_system_without_hard_links_still_gets_the_file(tmp_path, monkeypatch):
    def no_links(*_args, **_kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = atomic.create_new(tmp_path / "bundle.sig", b"{}\n", 0o644)
    assert path.read_bytes() == b"{}\n" and mode(path) == 0o644
    with pytest.raises(FileExistsError):
        atomic.create_new(path, b"two", 0o644)
    assert os.listdir(tmp_path) == ["bundle.sig"]


def test_a_write_the_system_refuses_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=r"signing\.key: cannot be written: No space left"):
        atomic.create_new(tmp_path / "signing.key", b"secret", 0o600)
    assert os.listdir(tmp_path) == []


def test_what_a_killed_run_left_goes_with_the_next_key(tmp_path):
    left = tmp_path / f".k.{2**22 + 1}.{atomic.HOST}{'0' * 12}.tmp"  # no such process
    left.write_bytes(b"half a key")
    atomic.create_new(tmp_path / "k", b"key", 0o600)
    assert os.listdir(tmp_path) == ["k"]

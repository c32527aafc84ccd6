"""Atomic writes: secret files are created with their mode, never readable by others."""

import os
import stat

import pytest

from fedsec import atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_secret_file_is_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0o000)
    try:
        atomic.write_text(tmp_path / "key.pem", "secret", mode=0o600)
        atomic.write_json(tmp_path / "state.json", {"key": "secret"}, mode=0o600)
        atomic.write_text(tmp_path / "public.txt", "hello")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "key.pem") == 0o600 and _mode(tmp_path / "state.json") == 0o600
    assert _mode(tmp_path / "public.txt") == 0o666
    assert (tmp_path / "key.pem").read_text() == "secret"


def test_the_mode_is_set_before_any_byte_is_written(tmp_path, monkeypatch):
    seen = []
    real_fdopen = os.fdopen

    def spy(fd, *args, **kwargs):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "fdopen", spy)
    atomic.write_bytes(tmp_path / "key", b"secret", mode=0o600)
    assert seen == [0o600]


def test_replacing_a_secret_keeps_it_private(tmp_path):
    path = tmp_path / "key"
    path.write_text("old")
    os.chmod(path, 0o644)
    atomic.write_text(path, "new", mode=0o600)
    assert _mode(path) == 0o600 and path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_mode_is_exactly_what_was_asked(tmp_path, mode):
    atomic.write_bytes(tmp_path / "f", b"x", mode=mode)
    assert _mode(tmp_path / "f") == mode

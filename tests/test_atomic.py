"""Atomic writes: complete or absent, modes from the umask, and the umask never touched."""

from __future__ import annotations

import os
import stat

import pytest

from fedsec import atomic


@pytest.fixture
def umask_027():
    set_umask = os.umask  # kept: the test below makes os.umask refuse
    previous = set_umask(0o027)
    try:
        yield
    finally:
        set_umask(previous)


@pytest.fixture
def umask_untouchable(monkeypatch, umask_027):
    """Changing the process umask races with every other thread creating files."""

    def refuse(_mask: int) -> int:
        raise AssertionError("os.umask was called")

    monkeypatch.setattr(os, "umask", refuse)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_get_the_umask_mode_without_changing_the_umask(tmp_path, umask_untouchable):
    target = tmp_path / "out" / "a.json"
    atomic.write_json(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert mode(target) == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_folders_get_the_umask_mode_without_changing_the_umask(tmp_path, umask_untouchable):
    with atomic.directory(tmp_path / "run") as staging:
        (staging / "x").write_text("1")
    assert mode(tmp_path / "run") == 0o750
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic.directory(tmp_path / "run") as staging:
        (staging / "half").write_text("1")
        raise RuntimeError("failed")
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_folder_is_never_replaced_without_a_disposer(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "mine.txt").write_text("mine")
    with pytest.raises(FileExistsError), atomic.directory(tmp_path / "run") as staging:
        (staging / "new").write_text("1")
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_empty_folder_is_filled(tmp_path):
    (tmp_path / "run").mkdir()
    with atomic.directory(tmp_path / "run") as staging:
        (staging / "new").write_text("1")
    assert (tmp_path / "run" / "new").read_text() == "1"

"""Atomic writes: complete or absent, modes from the umask (the umask never touched), and
secret files created with their mode, never readable by others."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys

import pytest

from fedsec.core import atomic
from fedsec.core.errors import OutputError
from tests.core.small_files import with_small_files


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


#: Run by a fresh Python whose files may not grow beyond 64 KiB (RLIMIT_FSIZE: the system
#: refuses the write, EFBIG, as a full disk refuses it with ENOSPC; Python ignores SIGXFSZ).
def test_a_write_the_system_refuses_names_the_file_and_keeps_the_old_one(tmp_path):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    code = (
        "from pathlib import Path\n"
        "from fedsec.core import atomic\n"
        "from fedsec.core.errors import OutputError\n"
        "try:\n"
        "    atomic.write_bytes(Path(sys.argv[1]), bytes(1 << 20))\n"
        "except OutputError as error:\n"
        "    print(error)\n"
    )
    done = with_small_files(code, str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{out}: cannot be written: File too large (nothing of it was written)\n"
    assert out.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_a_folder_built_on_a_disk_that_refuses_it_names_the_final_file(tmp_path):
    """Files written in the staging folder by hand (the system names no file: the error names
    the folder) or through :func:`atomic.stream` (the file's final path); no staging folder
    stays."""
    code = (
        "from pathlib import Path\n"
        "from fedsec.core import atomic\n"
        "from fedsec.core.errors import OutputError\n"
        "for how in ('by hand', 'streamed'):\n"
        "    try:\n"
        "        with atomic.directory(Path(sys.argv[1])) as staging:\n"
        "            if how == 'by hand':\n"
        "                (staging / 'big.bin').write_bytes(bytes(1 << 20))\n"
        "            else:\n"
        "                atomic.write_bytes(staging / 'big.bin', bytes(1 << 20))\n"
        "    except OutputError as error:\n"
        "        print(error)\n"
    )
    run = tmp_path / "run"
    done = with_small_files(code, str(run))
    assert done.returncode == 0, done.stderr
    refused = "cannot be written: File too large (nothing of it was written)"
    assert done.stdout.splitlines() == [f"{run}: {refused}", f"{run / 'big.bin'}: {refused}"]
    assert os.listdir(tmp_path) == []


class FullDisk:
    """A handle on a disk with no room left."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_sink_names_its_file_and_says_what_is_left(tmp_path):
    path = tmp_path / "alerts.jsonl"
    sink = atomic.Sink(FullDisk(), path, kept="the alerts written before it stay")
    expected = f"{path}: cannot be written: No space left on device (the alerts written before"
    for call in (lambda: sink.write(b"{}\n"), sink.flush):
        with pytest.raises(OutputError) as raised:
            call()
        assert str(raised.value) == f"{expected} it stay)"


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


def test_a_secret_file_is_created_private_not_narrowed_after(tmp_path, monkeypatch):
    """A file opened while it was briefly wider would stay readable through that descriptor."""
    created = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "open", spy)
    atomic.write_bytes(tmp_path / "key", b"secret", mode=0o600)
    assert created == [0o600]


def test_a_stream_appears_whole_at_the_end_and_an_error_leaves_the_old_file(tmp_path):
    target = tmp_path / "alerts.jsonl"
    target.write_text("old\n")
    with atomic.stream(target) as sink:
        sink.write(b"one\n")
        assert target.read_text() == "old\n"  # nothing shows until the block ends
        sink.write(b"two\n")
    assert target.read_text() == "one\ntwo\n"
    with pytest.raises(RuntimeError), atomic.stream(target) as sink:
        sink.write(b"half\n")
        raise RuntimeError("refused half-way")
    assert target.read_text() == "one\ntwo\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.jsonl"]


def test_a_file_where_the_folder_would_be_is_named(tmp_path):
    blocker = tmp_path / "alerts"
    blocker.write_text("mine")
    with pytest.raises(OutputError) as raised:
        atomic.write_bytes(blocker / "out.jsonl", b"{}\n")
    assert str(raised.value) == (
        f"{blocker / 'out.jsonl'}: cannot be written: {blocker} is a file, not a folder"
    )
    with pytest.raises(OutputError, match="Not a directory"):
        atomic.write_bytes(blocker / "deeper" / "out.jsonl", b"{}\n")
    assert blocker.read_text() == "mine" and os.listdir(tmp_path) == ["alerts"]


KILLED_MID_WRITE = (
    "import os, signal\n"
    "from pathlib import Path\n"
    "from fedsec.core import atomic\n"
    "with atomic.stream(Path(sys.argv[1])) as sink:\n"
    "    sink.write(b'half of it')\n"
    "    sink.flush()\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
)


def test_the_temporary_file_of_a_killed_run_goes_with_the_next_write_beside_it(tmp_path):
    """A run killed outright leaves its temporary file (no code runs on SIGKILL); the next
    write in that folder removes it, and keeps what a running process, another machine or a
    user made."""
    out = tmp_path / "alerts.jsonl"
    killed = subprocess.run([sys.executable, "-c", "import sys\n" + KILLED_MID_WRITE, str(out)])
    assert killed.returncode == -9
    [left] = os.listdir(tmp_path)
    assert left.startswith(".alerts.jsonl.") and left.endswith(".tmp")
    running = tmp_path / f".x.jsonl.{os.getpid()}.{atomic.HOST}{'0' * 12}.tmp"
    elsewhere = tmp_path / f".x.jsonl.{killed_pid(left)}.{'f' * 6}{'0' * 12}.tmp"
    staging = tmp_path / f".run.{killed_pid(left)}.{atomic.HOST}{'1' * 12}.tmp"
    mine = [tmp_path / ".alerts.jsonl.tmp", tmp_path / f".x.{killed_pid(left)}.tmp"]
    for path in (running, elsewhere, *mine):
        path.write_bytes(b"kept")
    staging.mkdir()
    (staging / "metrics.json").write_bytes(b"{}")
    atomic.write_bytes(tmp_path / "other.json", b"{}")
    assert sorted(os.listdir(tmp_path)) == sorted(
        p.name for p in (running, elsewhere, *mine, tmp_path / "other.json")
    )


def killed_pid(name: str) -> int:
    return int(atomic.TEMPORARY.match(name)["pid"])


def test_a_file_that_appears_while_it_is_written_is_never_replaced(tmp_path):
    """A second run finishing first (both checked that the file was not there): the one that
    finishes later keeps the other's file and says so; nothing of its own is left."""
    out = tmp_path / "alerts.jsonl"
    with (
        pytest.raises(OutputError, match="appeared while this command wrote it"),
        atomic.stream(out) as sink,
    ):
        sink.write(b"mine\n")
        out.write_bytes(b"theirs\n")  # the other run's file, renamed into place meanwhile
    assert out.read_bytes() == b"theirs\n"
    assert os.listdir(tmp_path) == ["alerts.jsonl"]
    with atomic.stream(out) as sink:  # there when the write began: replaced (--force)
        sink.write(b"mine\n")
    assert out.read_bytes() == b"mine\n"

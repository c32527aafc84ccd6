"""The files ``fedsec detect --follow`` writes in place (the alerts file, ``--rejects``) are
never written through a symlink, a dangling one counts as existing, and an existing rejects
file is emptied only with ``--force`` (appended to only by a resumed run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fedsec.core.errors import OutputError
from fedsec.detect.alerts_file import AlertsFile
from fedsec.detect.batch_reading import Rejects
from tests.detect.simulated_flows import bundle, flows_csv  # noqa: F401 (fixtures)

HANG = 120.0  # seconds: a guard against a hang (a --follow that was not refused), no measure


@pytest.fixture
def planted(tmp_path):
    """A file elsewhere, and a link to it where an output goes."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "target.txt"
    target.write_text("precious\n")
    return target


def test_the_alerts_file_is_never_created_through_a_dangling_symlink(tmp_path, planted):
    link = tmp_path / "d.jsonl"
    link.symlink_to(planted.parent / "planted.jsonl")
    with pytest.raises(OutputError, match="is a symbolic link"):
        AlertsFile(link)
    assert not (planted.parent / "planted.jsonl").exists()


def test_the_alerts_file_never_truncates_a_symlink_s_target(tmp_path, planted):
    link = tmp_path / "d.jsonl"
    link.symlink_to(planted)
    with pytest.raises(OutputError, match="is a symbolic link"):
        AlertsFile(link)
    assert planted.read_text() == "precious\n"


def test_a_reopen_after_rotation_does_not_follow_a_symlink(tmp_path, planted):
    path = tmp_path / "alerts.jsonl"
    alerts = AlertsFile(path)
    alerts.write(b"first\n")
    path.rename(tmp_path / "alerts.jsonl.1")
    path.symlink_to(planted)
    alerts.ask_reopen()
    with pytest.raises(OutputError, match="is a symbolic link"):
        alerts.write(b"second\n")
    alerts.close()
    assert planted.read_text() == "precious\n"


def test_rejects_are_never_appended_through_a_symlink(tmp_path, planted):
    link = tmp_path / "rj"
    link.symlink_to(planted)
    with pytest.raises(OutputError, match="is a symbolic link"):
        Rejects(link).set_aside("flows.csv", 3, b"a,b\n", "not a number")
    assert planted.read_text() == "precious\n"


def test_rejects_are_emptied_unless_a_resumed_run_appends(tmp_path):
    path = tmp_path / "rejects.jsonl"
    for append in (False, True):
        rejects = Rejects(path, append=append)
        rejects.set_aside("flows.csv", 3, b"a,b\n", "not a number")
        rejects.close()
    assert [json.loads(line)["data_row"] for line in path.read_text().splitlines()] == [3, 3]
    Rejects(path).close()  # a new run's file holds its own lines alone
    assert path.read_text() == ""


def _detect(bundle, flows_csv, tmp_path, *extra: str) -> subprocess.CompletedProcess:  # noqa: F811
    command = [sys.executable, "-m", "fedsec", "detect", "--model", str(bundle), "--format"]
    command += ["flows", "--allow-unsigned", "--input", str(flows_csv), *extra]
    environment = {**os.environ, "COLUMNS": "200"}
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=HANG, cwd=tmp_path, env=environment
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the run was not refused: it followed on")


def _said(result: subprocess.CompletedProcess) -> str:
    return " ".join(result.stderr.split())


def test_detect_follow_refuses_a_symlinked_alerts_file(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
    planted,
):
    (tmp_path / "d.jsonl").symlink_to(planted.parent / "planted.jsonl")
    (tmp_path / "e.jsonl").symlink_to(planted)
    for out, force in (("d.jsonl", []), ("e.jsonl", ["--force"])):
        result = _detect(bundle, flows_csv, tmp_path, "--out", out, "--follow", *force)
        assert result.returncode == 2
        assert f"{out} is a symbolic link; fedsec does not write through one" in _said(result)
    assert not (planted.parent / "planted.jsonl").exists()
    assert planted.read_text() == "precious\n"


def test_detect_refuses_a_symlinked_or_existing_rejects_file(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
    planted,
):
    (tmp_path / "rj").symlink_to(planted)
    (tmp_path / "old.jsonl").write_text("{}\n")
    follow = ["--out", "a.jsonl", "--follow", "--rejects"]
    linked = _detect(bundle, flows_csv, tmp_path, *follow, "rj", "--force")
    assert linked.returncode == 2
    assert "rj is a symbolic link; fedsec does not write through one" in _said(linked)
    existing = _detect(bundle, flows_csv, tmp_path, *follow, "old.jsonl")
    assert existing.returncode == 2
    assert "old.jsonl exists; pass --force to overwrite it" in _said(existing)
    assert planted.read_text() == "precious\n" and (tmp_path / "old.jsonl").read_text() == "{}\n"
    assert not (tmp_path / "a.jsonl").exists()


def test_a_dangling_symlink_is_an_existing_alerts_file(
    bundle,  # noqa: F811
    flows_csv,  # noqa: F811
    tmp_path,
    planted,
):
    (tmp_path / "d.jsonl").symlink_to(planted.parent / "planted.jsonl")
    result = _detect(bundle, flows_csv, tmp_path, "--out", "d.jsonl")
    assert result.returncode == 2
    assert "d.jsonl exists; pass --force to overwrite it" in _said(result)
    assert (tmp_path / "d.jsonl").is_symlink()


@pytest.mark.parametrize("force", [False, True])
def test_a_hard_linked_rejects_or_alerts_file_is_never_written(tmp_path, planted, force):
    """A hard link is the same file under another name: emptying or appending to it would
    change the file it shares (as root, the kernel's protected_hardlinks does not stop it)."""
    for name in ("rejects.jsonl", "alerts.jsonl"):
        os.link(planted, tmp_path / name)
    with pytest.raises(OutputError, match="has other hard links"):
        Rejects(tmp_path / "rejects.jsonl", append=not force).set_aside("f.csv", 3, b"a\n", "x")
    with pytest.raises(OutputError, match="has other hard links"):
        AlertsFile(tmp_path / "alerts.jsonl")
    assert planted.read_text() == "precious\n"

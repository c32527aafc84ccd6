"""A folder's marker (``.fedsec-output.json``) is data anyone can edit: ``--force`` deletes only
plain relative entries inside the folder, never through a symlink, and refuses any other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core import outputs
from fedsec.core.errors import OutputError
from tests.forensics.ecs import write_lines
from tests.forensics.kill_chain import kill_chain

runner = CliRunner()


@pytest.fixture
def report(tmp_path) -> tuple[Path, list[str]]:
    """A real ``fedsec incidents`` report folder, and the command that replaces it."""
    alerts, out = tmp_path / "alerts.jsonl", tmp_path / "inc"
    write_lines(alerts, kill_chain("office", 0, iter(range(1, 1000))))
    command = ["incidents", str(alerts), "--out", str(out), "--min-alerts", "1"]
    assert runner.invoke(app, command).exit_code == 0
    return out, [*command, "--force"]


def list_in_marker(folder: Path, *names: str) -> None:
    marker = folder / outputs.MARKER
    document = json.loads(marker.read_text())
    marker.write_text(json.dumps({**document, "files": [*document["files"], *names]}))


@pytest.mark.parametrize("entry", ["../victim.txt", "{victim}", "sub/../../victim.txt"])
def test_force_refuses_a_marker_naming_a_file_outside_the_folder(report, tmp_path, entry):
    out, command = report
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    list_in_marker(out, entry.format(victim=victim))
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    words = " ".join(result.output.split())
    assert str(out / outputs.MARKER) in words and "lists files outside" in words
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == [
        outputs.MARKER,
        "incidents.html",
        "incidents.json",
    ]


def test_a_listed_file_behind_a_symlinked_folder_is_never_deleted(report, tmp_path):
    out, _ = report
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.txt").write_text("keep me")
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    list_in_marker(out, "sub/victim.txt")  # a marker changed after check_target
    old = tmp_path / "old"
    out.rename(old)
    kept = outputs.remove_written(old, out)
    assert (elsewhere / "victim.txt").read_text() == "keep me"
    assert kept is not None and (kept / "sub").is_symlink()


def test_a_marker_changed_after_the_check_deletes_nothing(report, tmp_path):
    out, _ = report
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    list_in_marker(out, "../victim.txt")
    old = tmp_path / "old"
    out.rename(old)
    with pytest.raises(OutputError, match="kept as"):
        outputs.remove_written(old, out)
    assert victim.read_text() == "keep me"
    assert (tmp_path / "inc-kept" / "incidents.json").is_file()


@pytest.mark.parametrize(
    ("name", "inside"),
    [
        *[("incidents.json", True), ("a/b.txt", True), ("../x", False), ("/etc/x", False)],
        *[("a/./b", False), ("a//b", False), ("", False), (".", False), ("a/..", False)],
    ],
)
def test_inside_name(name, inside):
    assert outputs.inside_name(name) is inside

"""An output folder given as ``.``, as a path ending in ``..``, or as the current folder by
another name is refused before any work, naming it (before, the command ran to its end and
died with a traceback, ``OSError: [Errno 16] Device or resource busy: '.' -> '..old-…'``,
leaving the folders it had made)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core import outputs

runner = CliRunner()
GENERATE = ["generate", "consortium", "--set", "flows=2000"]


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """An empty current folder."""
    folder = tmp_path / "reports"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize(
    ("out", "what"),
    [
        (".", ". is the current folder"),
        ("../reports", "../reports is the current folder"),
        ("made/..", "made/.. is the current folder"),
    ],
)
def test_generate_refuses_the_current_folder_before_any_work(here, out, what):
    for force in ([], ["--force"]):
        result = runner.invoke(app, [*GENERATE, "--out", out, *force])
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        text = " ".join(result.output.split())
        assert f"error: {what}: an output folder is built beside its place" in text
        assert "give --out the name of a folder to create" in text
    assert list(here.iterdir()) == []
    assert sorted(p.name for p in here.parent.iterdir()) == ["reports"]


def test_a_path_ending_in_dot_dot_elsewhere_is_refused(here, tmp_path):
    out = tmp_path / "runs" / "x" / ".."
    with pytest.raises(outputs.OutputError, match=r"x/\.\. is not named by its own name"):
        outputs.check_target(out)
    assert not (tmp_path / "runs").exists()


def test_a_folder_named_by_its_name_is_written_there(here):
    result = runner.invoke(app, [*GENERATE, "--out", "consortium"])
    assert result.exit_code == 0, result.output
    assert (here / "consortium" / "manifest.json").is_file()
    assert sorted(p.name for p in here.iterdir()) == ["consortium"]

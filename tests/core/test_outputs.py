"""Output folders: nothing a command did not write is ever deleted or overwritten."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core import outputs

runner = CliRunner()


def write(folder, files: dict[str, str], writer: str = "fedsec simulate", force: bool = False):
    with outputs.output_directory(folder, writer, force=force) as staging:
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)
    return folder


def test_simulate_refuses_a_project_folder_and_leaves_it_intact(tmp_path, monkeypatch):
    """``fedsec simulate --out "$PWD"`` inside a project once deleted its sources."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('mine')\n")
    (project / "README.md").write_text("mine\n")
    monkeypatch.chdir(project)
    for extra in ([], ["--force"]):
        result = runner.invoke(app, ["simulate", "unsw-5org-disjoint", "--out", ".", *extra])
        assert result.exit_code == 2, result.output
        assert "not empty and was not written by fedsec" in result.output
    assert (project / "src" / "main.py").read_text() == "print('mine')\n"
    assert (project / "README.md").read_text() == "mine\n"
    assert sorted(p.name for p in project.iterdir()) == ["README.md", "src"]


def test_an_earlier_output_is_replaced_only_with_force(tmp_path):
    run = write(tmp_path / "run", {"metrics.json": "{}", "model/weights.bin": "old"})
    with pytest.raises(outputs.OutputError, match="pass --force"):
        write(run, {"metrics.json": '{"new": 1}'})
    assert (run / "model" / "weights.bin").read_text() == "old"
    write(run, {"metrics.json": '{"new": 1}'}, force=True)
    assert (run / "metrics.json").read_text() == '{"new": 1}'
    assert not (run / "model").exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "run"]  # nothing left aside
    marker = json.loads((run / outputs.MARKER).read_text())
    assert marker["writer"] == "fedsec simulate" and marker["files"] == ["metrics.json"]


def test_a_run_holding_a_file_fedsec_did_not_write_is_refused_even_with_force(tmp_path):
    run = write(tmp_path / "run", {"metrics.json": "{}"})
    (run / "alerts.jsonl").write_text("my alerts\n")
    with pytest.raises(outputs.OutputError, match=r"alerts\.jsonl"):
        write(run, {"metrics.json": "{}"}, force=True)
    assert (run / "alerts.jsonl").read_text() == "my alerts\n"


def test_force_replaces_a_commands_own_output_never_another_commands(tmp_path):
    """``fedsec hunt --out runs/demo-seed0 --force`` deleted the training run it read its model
    from: --force replaces only an earlier output of the same command."""
    run = write(tmp_path / "run", {"model/bundle.json": "{}", "metrics.json": "{}"})
    with pytest.raises(outputs.OutputError, match="holds the output of `fedsec simulate`, not"):
        outputs.check_target(run, force=True, writer="fedsec hunt")
    with (
        pytest.raises(outputs.OutputError, match="output of `fedsec simulate`, not of `fedsec"),
        outputs.output_directory(run, "fedsec hunt", force=True),
    ):
        pass
    assert (run / "model" / "bundle.json").exists()
    outputs.check_target(run, force=True, writer="fedsec simulate")  # its own: replaceable


def test_a_pipe_or_a_device_is_never_replaced_by_an_output_file(tmp_path):
    fifo = tmp_path / "alerts.fifo"
    os.mkfifo(fifo)
    with pytest.raises(outputs.OutputError, match="not a regular file"):
        outputs.check_file(fifo, force=True)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(outputs.OutputError, match="not a regular file"):
        outputs.check_file(Path(os.devnull), force=True)


def test_a_file_added_while_a_run_is_replaced_is_kept(tmp_path):
    run = write(tmp_path / "run", {"metrics.json": "{}", "report.md": "old"})
    with outputs.output_directory(run, "fedsec simulate", force=True) as staging:
        (staging / "metrics.json").write_text('{"new": 1}')
        (run / "notes.txt").write_text("written meanwhile")  # after the check, before the swap
    assert (run / "metrics.json").read_text() == '{"new": 1}'
    kept = tmp_path / "run-kept"
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
    assert (kept / "notes.txt").read_text() == "written meanwhile"


def test_a_symlink_or_a_file_is_never_an_output_folder(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(outputs.OutputError, match="symbolic link"):
        outputs.check_target(tmp_path / "link", force=True)
    with pytest.raises(outputs.OutputError, match="not a folder"):
        outputs.check_target(tmp_path / "file", force=True)


def test_default_run_folders_are_never_reused_and_latest_points_at_the_newest(tmp_path):
    runs = tmp_path / "runs"
    names = []
    for _ in range(3):
        with outputs.run_folder(None, "unsw-seed0-secagg", runs=runs) as target:
            write(target, {"metrics.json": target.name})
            outputs.point_latest(target)
            names.append(target.name)
    assert names == ["unsw-seed0-secagg", "unsw-seed0-secagg-2", "unsw-seed0-secagg-3"]
    assert (runs / "latest").is_symlink()
    assert (runs / "latest" / "metrics.json").read_text() == "unsw-seed0-secagg-3"
    assert (runs / "unsw-seed0-secagg" / "metrics.json").read_text() == "unsw-seed0-secagg"


def test_a_failed_command_releases_its_reserved_folder(tmp_path):
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError), outputs.run_folder(None, "x-seed0", runs=runs):
        raise RuntimeError("the run failed")
    assert list(runs.iterdir()) == []


def test_a_latest_that_fedsec_did_not_make_is_left_alone(tmp_path):
    (tmp_path / "latest").write_text("my notes\n")
    run = write(tmp_path / "r1", {"metrics.json": "{}"})
    assert outputs.point_latest(run) is None
    assert (tmp_path / "latest").read_text() == "my notes\n"


def test_a_text_file_latest_is_followed(tmp_path):
    """Where symlinks are unavailable ``latest`` is a one-line file; detect follows it."""
    run = write(tmp_path / "r1", {"metrics.json": "{}"})
    (tmp_path / "latest").write_text(f"{outputs.POINTER}r1\n")
    assert outputs.resolve(tmp_path / "latest" / "model") == run / "model"
    assert outputs.resolve(tmp_path / "r1" / "model") == tmp_path / "r1" / "model"


def test_detect_never_overwrites_an_existing_alerts_file_without_force(tmp_path):
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("earlier alerts\n")
    args = ["detect", "--model", str(tmp_path / "model"), "--input", str(tmp_path / "in.csv")]
    args += ["--format", "unsw-nb15", "--out", str(alerts)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "exists; pass --force" in result.output
    assert alerts.read_text() == "earlier alerts\n"
    forced = runner.invoke(app, [*args, "--force"])  # goes on, and fails on the missing model
    assert forced.exit_code == 2 and "exists; pass --force" not in forced.output
    assert alerts.read_text() == "earlier alerts\n"


def test_plain_and_protected_runs_each_get_their_own_folder(tmp_path, monkeypatch, data_dir):
    """The README's plain, secure-aggregation and HE runs once overwrote each other."""
    monkeypatch.chdir(tmp_path)
    tiny = ["--data-dir", str(data_dir), "--set", "data.max_rows=2000", "--set", "rounds=2"]
    tiny += ["--set", 'evaluation.arms=["federated"]', "--set", "privacy.audit=false"]
    for extra in ([], ["--set", "privacy.secure_aggregation=true"], []):
        result = runner.invoke(app, ["simulate", "unsw-5org-disjoint", *tiny, *extra])
        assert result.exit_code == 0, result.output
    runs = tmp_path / "runs"
    names = sorted(p.name for p in runs.iterdir())
    assert names == [
        "latest",
        "unsw-5org-disjoint-seed0",
        "unsw-5org-disjoint-seed0-2",
        "unsw-5org-disjoint-seed0-secagg",
    ]
    secure = json.loads((runs / "unsw-5org-disjoint-seed0-secagg" / "metrics.json").read_text())
    assert secure["privacy"]["secure_aggregation"]["enabled"]
    assert (runs / "latest").resolve() == (runs / "unsw-5org-disjoint-seed0-2").resolve()
    assert "runs/unsw-5org-disjoint-seed0-2 (runs/latest points here)" in result.output


def test_a_runs_folder_that_cannot_be_written_is_a_clear_error(tmp_path):
    (tmp_path / "runs").write_text("a file where the runs folder should be")
    with (
        pytest.raises(outputs.OutputError, match="cannot create the runs folder"),
        outputs.run_folder(None, "x-seed0", runs=tmp_path / "runs"),
    ):
        pass


def test_an_output_in_a_folder_that_cannot_be_written_is_refused_before_any_work(
    tmp_path, monkeypatch
):
    """A read-only file system (``os.access`` says so, for root too) is found before the run,
    not at its end: the nearest folder that exists is the one asked."""
    import os

    real = os.access
    locked = tmp_path / "locked"
    locked.mkdir()

    def access(path, mode, *args, **kwargs):
        return False if os.fspath(path) == str(locked) else real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    for check in (outputs.check_target, outputs.check_file):
        with pytest.raises(outputs.OutputError, match=r"locked is not writable"):
            check(locked / "not" / "yet" / "made")
    outputs.check_target(tmp_path / "free" / "run")  # an existing writable ancestor: fine

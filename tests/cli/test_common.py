"""What every command shares: unwrapped output when piped, progress lines, version and help,
clean errors, and what Ctrl-C keeps. No assertion here depends on the terminal's width."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator

import click
import pytest
import typer
from rich.table import Table
from typer.testing import CliRunner

from fedsec import __version__
from fedsec.cli import app
from fedsec.cli.common import (
    RoundProgress,
    ScanProgress,
    UnwrappedConsole,
    clean_errors,
    quiet_libraries,
)
from fedsec.data.logs import LOG_FORMATS
from fedsec.data.readers import FORMATS
from fedsec.scenarios.loading import builtin_names, load_scenario
from fedsec.tasks.anomaly import task as anomaly
from fedsec.tasks.classification import arms

runner = CliRunner()
SMALL = ["--set", "data.max_rows=4000", "--set", "rounds=4", "--set", "evaluation.curve_points=2"]


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_scenario_descriptions_are_whole_lines_when_piped():
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    for name in builtin_names():
        summary = one_line(load_scenario(name).description).split("; ")[0].split(". ")[0]
        assert any(name in line and summary in line for line in lines), (name, summary)


def test_long_error_paths_are_not_wrapped(tmp_path):
    deep = tmp_path / ("a-folder-with-a-long-name-" * 4) / "federation"
    result = runner.invoke(app, ["federation", "stop", "--dir", str(deep)])
    assert result.exit_code == 2
    line = next(x for x in result.output.splitlines() if x.startswith("error:"))
    assert str(deep) in line and "no loopback federation here" in line


def test_a_piped_tables_title_is_one_whole_line_before_it():
    """Rich wraps a table's title at the table's width: `fedsec detect`'s "... alerts →
    <output path>" broke the path mid-word when piped, where it is copied from (and read
    brackets in it as markup)."""
    out = io.StringIO()
    path = "/var/tmp/" + "a-rather-long-directory-of-alerts/" * 4 + "run[2]/alerts.jsonl"
    grid = Table("flagged as", "alerts", title=f"303 rows scored, 8 alerts → {path}")
    grid.add_row("botnet", "4")
    UnwrappedConsole(file=out).print(grid)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"303 rows scored, 8 alerts → {path}"
    assert "botnet" in out.getvalue() and grid.title  # the caller's table is unchanged
    assert len(lines) == 6  # the title, then the table's five lines


def test_piped_progress_is_plain_throttled_lines():
    out = io.StringIO()
    console = UnwrappedConsole(file=out)
    with RoundProgress(console, every=3600) as progress:
        for arm in ("local", "federated"):
            progress.add(arm, 50)
        for _ in range(50):
            progress.advance("local")
        for _ in range(3):
            progress.advance("federated")
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "local: round 1/50",
        "local: round 50/50",
        "federated: round 1/50",
    ]
    assert all(line.endswith("s elapsed)") for line in lines)


def test_piped_progress_reports_every_interval():
    out = io.StringIO()
    with RoundProgress(UnwrappedConsole(file=out), every=0) as progress:
        progress.add("federated", 4)
        for _ in range(4):
            progress.advance("federated")
    assert len(out.getvalue().splitlines()) == 4


def test_a_piped_scan_prints_a_whole_line_per_interval_and_none_within_it():
    out = io.StringIO()
    with ScanProgress("scoring", UnwrappedConsole(file=out), every=0) as progress:
        progress(65_536, 9_916)
        progress(131_072, 19_800)
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "scoring: 65,536 rows scored, 9,916 alerts",
        "scoring: 131,072 rows scored, 19,800 alerts",
    ]
    assert all(line.endswith("s elapsed)") and "rows/s" in line for line in lines)
    quiet = io.StringIO()
    with ScanProgress("scoring", UnwrappedConsole(file=quiet), every=3600) as progress:
        progress(65_536, 9_916)
    assert quiet.getvalue() == ""


def test_a_scan_on_a_terminal_is_one_live_line_gone_at_the_end():
    out = io.StringIO()
    terminal = UnwrappedConsole(file=out, force_terminal=True, width=100)
    with ScanProgress("scoring", terminal) as progress:
        progress(65_536, 9_916)
        progress.rich.refresh()
    shown = out.getvalue()
    assert "scoring: 65,536 rows scored, 9,916 alerts" in shown
    assert shown.endswith("\x1b[2K")  # erased when the scan ends: the summary follows alone


def test_version_and_short_help():
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"fedsec {__version__}"
    for args in (["-h"], ["simulate", "-h"], ["federation", "-h"], ["job", "submit", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage:" in result.output, args


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_each_commands_summary_in_the_list_is_a_whole_sentence():
    """The one-line summary ``fedsec --help`` lists is cut at the docstring's first ". ": an
    abbreviation there ("e.g. the federation's") would cut it mid-sentence."""
    group = typer.main.get_command(app)
    for name, command in _commands(group):
        summary = command.get_short_help_str(limit=10_000)
        assert summary.endswith((".", ")")) and summary.count("(") == summary.count(")"), name
        assert not summary.endswith(("e.g.", "i.e.", "etc.")), (name, summary)
        assert "``" not in (command.help or ""), (name, "reST markup shows as is in --help")


def test_piped_help_is_plain_whole_lines():
    """A user piping ``--help`` into grep or a log gets each option on one line, no boxes, at
    any terminal width (help is rendered in a fresh process whose stdout is a pipe)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    for columns in ("40", None):
        if columns is not None:
            env["COLUMNS"] = columns
        shown = subprocess.run(
            [sys.executable, "-m", "fedsec", "simulate", "--help"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        line = next(x for x in shown.splitlines() if x.lstrip().startswith("--out"))
        assert line.rstrip().endswith("runs/latest points at the newest."), shown
        assert "─" not in shown and "│" not in shown, shown


def test_detect_help_lists_every_input_format():
    result = runner.invoke(app, ["detect", "--help"], env={"COLUMNS": "1000"})
    text = one_line(result.output.replace("│", " "))
    for name in [*FORMATS, *LOG_FORMATS]:
        assert f" {name}," in text or f" {name};" in text or f" {name}." in text, name


def test_help_shows_defaults():
    result = runner.invoke(app, ["privacy-curve", "--help"], env={"COLUMNS": "1000"})
    assert "[default: 0.5,1,2,4,8,inf]" in result.output


@pytest.fixture
def interrupted_federated(monkeypatch):
    def stop(*_args):
        raise KeyboardInterrupt

    monkeypatch.setitem(arms.TRAINERS, "federated", stop)


def test_ctrl_c_keeps_the_finished_arms_marked_incomplete(
    tmp_path, monkeypatch, data_dir, interrupted_federated
):
    monkeypatch.chdir(tmp_path)
    args = ["simulate", "unsw-5org-disjoint", "--data-dir", str(data_dir), *SMALL]
    result = runner.invoke(app, args)
    assert result.exit_code == 130, result.output
    assert "kept the finished arms (centralized, local)" in one_line(result.output)
    assert "not finished: federated" in one_line(result.output)
    run = tmp_path / "runs" / "unsw-5org-disjoint-seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["arms"]) == ["centralized", "local"]
    assert metrics["incomplete"]["missing_arms"] == ["federated"]
    assert "**Incomplete run**" in (run / "report.md").read_text()
    assert (run / "model" / "bundle.json").is_file()  # the centralized model
    assert not (tmp_path / "runs" / "latest").exists()  # latest names complete runs only


@pytest.fixture
def sigterm_restored():
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_keeps_the_finished_arms_like_ctrl_c(
    tmp_path, monkeypatch, data_dir, sigterm_restored
):
    def terminated(*_args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal arrives before this ends
        raise AssertionError("SIGTERM did not stop the run")

    monkeypatch.setitem(arms.TRAINERS, "federated", terminated)
    monkeypatch.chdir(tmp_path)
    args = ["simulate", "unsw-5org-disjoint", "--data-dir", str(data_dir), *SMALL]
    result = runner.invoke(app, args)
    assert result.exit_code == 130, result.output
    assert "not finished: federated" in one_line(result.output)
    run = tmp_path / "runs" / "unsw-5org-disjoint-seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["incomplete"]["missing_arms"] == ["federated"]


def test_ctrl_c_before_any_arm_finished_keeps_nothing(tmp_path, monkeypatch, data_dir):
    def stop(*_args):
        raise KeyboardInterrupt

    monkeypatch.setitem(arms.TRAINERS, "centralized", stop)
    monkeypatch.chdir(tmp_path)
    args = ["simulate", "unsw-5org-disjoint", "--data-dir", str(data_dir), *SMALL]
    result = runner.invoke(app, args)
    assert result.exit_code == 130
    assert "interrupted: nothing was kept" in one_line(result.output)
    assert list((tmp_path / "runs").iterdir()) == []


def test_ctrl_c_in_an_anomaly_run_keeps_the_finished_arms(tmp_path, monkeypatch, data_dir):
    train_arm = anomaly.train_arm

    def stop_federated(scenario, orgs, name, tick):
        if name.startswith("federated"):
            raise KeyboardInterrupt
        return train_arm(scenario, orgs, name, tick)

    monkeypatch.setattr(anomaly, "train_arm", stop_federated)
    out = tmp_path / "run"
    tiny = ["--set", "data.max_rows=3000", "--set", "rounds=2", "--set", 'anomaly.models=["ae"]']
    args = ["simulate", "nslkdd-anomaly", "--out", str(out), "--data-dir", str(data_dir), *tiny]
    result = runner.invoke(app, args)
    assert result.exit_code == 130, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["incomplete"]["interrupted_during"] == "federated_ae"
    assert "federated_ae" not in metrics["arms"] and "local_ae" in metrics["arms"]
    assert "**Incomplete run**" in (out / "report.md").read_text()


def test_library_chatter_stays_off_the_console():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_libraries()
        warnings.warn_explicit("secure RNG off", UserWarning, "x.py", 1, module="opacus.privacy")
        warnings.warn_explicit(
            "Using a non-full backward hook when the forward contains multiple autograd Nodes",
            FutureWarning,
            "module.py",
            1,
            module="torch.nn.modules.module",
        )
        warnings.warn_explicit("a warning of our own", UserWarning, "y.py", 1, module="fedsec.x")
    assert [str(w.message) for w in caught] == ["a warning of our own"]
    assert not logging.getLogger("nvflare.fuel.f3.cellnet").isEnabledFor(logging.INFO)
    assert not logging.getLogger("opacus.accountants").isEnabledFor(logging.WARNING)


@pytest.mark.parametrize(
    ("refused", "line"),
    [
        (
            OSError(28, "No space left on device", "/data/out.csv"),
            "/data/out.csv: cannot be written",
        ),
        (OSError(122, "Disk quota exceeded"), "a write was refused"),
    ],
    ids=["named", "unnamed"],
)
def test_a_write_the_system_refuses_anywhere_is_one_line_and_exit_2(capsys, refused, line):
    """A full disk or a quota met outside fedsec's atomic writer still ends in one clear line;
    any other OSError stays a bug, with its traceback."""

    @clean_errors
    def command() -> None:
        raise refused

    with pytest.raises(typer.Exit) as stopped:
        command()
    assert stopped.value.exit_code == 2
    assert " ".join(capsys.readouterr().err.split()) == f"error: {line}: {refused.strerror}"

    @clean_errors
    def bug() -> None:
        raise FileNotFoundError(2, "No such file or directory", "/nowhere")

    with pytest.raises(FileNotFoundError):
        bug()


def test_repeated_seeds_are_refused():
    from fedsec.cli.options import parse_seeds
    from fedsec.core.errors import ConfigError

    assert parse_seeds("0, 1,2") == [0, 1, 2]
    with pytest.raises(ConfigError, match="give distinct seeds"):
        parse_seeds("0,1,0")
    with pytest.raises(ConfigError, match=r"--seeds: seed -1 is out of range"):
        parse_seeds("0,-1")


def test_an_attack_matrix_checks_its_seeds_as_the_cli_does():
    """One check (seeding.check_seeds) for --seeds, whether given on the CLI or to the plan."""
    from fedsec.core.errors import ConfigError
    from fedsec.experiments.attack_matrix import MatrixPlan

    for seeds, message in (([0, 0], "give distinct seeds"), ([2**32], "out of range"), ([], "")):
        with pytest.raises(ConfigError, match=f"--seeds: .*{message}"):
            MatrixPlan("unsw-5org-shared", seeds=seeds).check()


def test_a_fingerprint_is_printed_as_it_is(capsys):
    """Rich read ``:AB:`` in a CA's fingerprint as the code of an emoji, in the string an
    operator is told to compare out of band."""
    from fedsec.cli.common import console, errors

    fingerprint = "4F:91:AB:D8:3A:OK:00"
    console.print(f"fingerprint {fingerprint}", highlight=False)
    errors.print(f"fingerprint {fingerprint}", highlight=False)
    said = capsys.readouterr()
    assert fingerprint in said.out and fingerprint in said.err

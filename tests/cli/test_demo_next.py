"""The command ``fedsec demo`` prints next runs as printed (the shell's glob expanded): before,
it named ``<org>/<file>``, which the user had to find out (and the organization's folder holds
``events.csv`` beside the flows, which a flow format does not read)."""

import glob
import re
import shlex

import pytest
from typer.testing import CliRunner

from fedsec.cli import app

runner = CliRunner()
TINY = ["--set", "flows=4000", "--set", "experiment.rounds=5"]


@pytest.mark.parametrize("fmt", ["flows", "zeek"])
def test_the_next_command_the_demo_prints_scores_the_organizations_files(
    tmp_path, monkeypatch, fmt
):
    monkeypatch.chdir(tmp_path)
    demo = runner.invoke(app, ["demo", "--format", fmt, *TINY, "--out", str(tmp_path / "run")])
    assert demo.exit_code == 0, demo.output
    printed = re.search(r"^next: (fedsec detect .*)$", demo.output, re.MULTILINE)
    assert printed, demo.output
    words = shlex.split(printed.group(1).replace("<org>", "office"))[1:]
    pattern = words.pop()
    files = sorted(glob.glob(pattern))
    assert len(files) > 5 and not any(f.endswith("events.csv") for f in files), files
    out = tmp_path / "alerts.jsonl"
    detect = runner.invoke(app, [*words, *files, "--out", str(out)])
    assert detect.exit_code == 0, detect.output
    assert out.read_text().count("\n") > 0

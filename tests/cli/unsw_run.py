"""One UNSW-NB15 run of ``fedsec simulate`` and the ``fedsec detect`` calls on it that the
command tests share (test_main, test_detect_inputs, test_detect_trust: the run is built once per
test process by the ``unsw_simulated`` fixture of tests/cli/conftest.py)."""

import shutil
from pathlib import Path

from typer.testing import CliRunner

from fedsec.cli import app
from tests.conftest import unsw_training_frame

runner = CliRunner()
SMALL = ["--set", "data.max_rows=8000", "--set", "rounds=20", "--set", "evaluation.curve_points=3"]
OUTPUT = "output.txt"


def simulate(folder: Path, data_dir: Path) -> None:
    """``fedsec simulate`` into ``folder / "run"``, what it printed into ``folder / OUTPUT``."""
    out = folder / "run"
    args = ["simulate", "unsw-5org-disjoint", "--out", str(out), "--data-dir", str(data_dir)]
    result = runner.invoke(app, [*args, "--seed", "3", *SMALL])
    assert result.exit_code == 0, result.output
    (folder / OUTPUT).write_text(result.output)


def unsw_slice(tmp_path, rows=400, drop=None):
    """``rows`` UNSW-NB15 training rows (less the column ``drop``) in ``tmp_path / "flows.csv"``."""
    frame = unsw_training_frame()
    frame = frame.sample(rows, random_state=0)
    if drop:
        frame = frame.drop(columns=[drop])
    path = tmp_path / "flows.csv"
    frame.to_csv(path, index=False)
    return path


def unwrapped(result) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def detect_copy(run_dir, tmp_path, *extra, model=None):
    """``fedsec detect`` on 400 UNSW-NB15 rows with a bundle (default: a copy of the run's)."""
    if model is None:
        model = tmp_path / "model"
        if not model.exists():
            shutil.copytree(run_dir / "model", model)
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(model), "--input", str(unsw_slice(tmp_path)), "--out"]
    result = runner.invoke(app, [*args, str(out), "--format", "unsw-nb15", "--org", "org2", *extra])
    return result, out

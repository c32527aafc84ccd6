"""``fedsec privacy-curve``'s sweep options: bad settings and a missing Ray are refused before
any data is read, exit 2, nothing written."""

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.experiments import sweep

runner = CliRunner()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "0"], "--workers: at least 1 worker, got 0"),
        (["--ray-address", "head-node"], "--ray-address: 'head-node' is not a Ray address"),
        (["--seeds", "0,one"], "--seeds: comma-separated integers, got '0,one'"),
        (["--seed", "1", "--seeds", "0,1"], "--seed and --seeds: give one of them"),
    ],
)
def test_impossible_sweep_options_exit_2_and_write_nothing(tmp_path, options, message):
    out = tmp_path / "curve"
    result = runner.invoke(
        app,
        ["privacy-curve", "unsw-5org-disjoint", "--out", str(out), *options],
        env={"COLUMNS": "1000"},
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_parallel_points_without_ray_name_the_extra_exit_2_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep.importlib.util, "find_spec", lambda name: None)
    out = tmp_path / "curve"
    result = runner.invoke(
        app,
        ["privacy-curve", "unsw-5org-disjoint", "--out", str(out), "--workers", "2"],
        env={"COLUMNS": "1000"},
    )
    assert result.exit_code == 2, result.output
    assert "pip install 'fedsec[sweep]'" in " ".join(result.output.split())
    assert not out.exists()

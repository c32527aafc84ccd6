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


def _never_trained(*_args, **_kwargs):
    raise AssertionError("trained before the signing key was checked")


@pytest.mark.parametrize("command", [["simulate", "unsw-5org-disjoint"], ["demo"]])
def test_a_signing_key_that_cannot_sign_is_refused_before_training(tmp_path, monkeypatch, command):
    """$FEDSEC_SIGNING_KEY naming a folder, or $FEDSEC_HOME a file, was said only after the
    whole run had trained (and nothing was kept)."""
    from fedsec.experiments import demo, driver

    monkeypatch.setattr(driver, "run_experiment", _never_trained)
    monkeypatch.setattr(demo, "run_experiment", _never_trained)
    (tmp_path / "file").write_text("x\n")
    for env, message in (
        ({"FEDSEC_SIGNING_KEY": str(tmp_path)}, "is a folder, not a signing key"),
        ({"FEDSEC_HOME": str(tmp_path / "file")}, "is a file, not a folder"),
    ):
        out = tmp_path / "run"
        result = runner.invoke(app, [*command, "--out", str(out)], env={"COLUMNS": "1000", **env})
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split())
        assert not out.exists()

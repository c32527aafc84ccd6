"""fedsec hunt's refusals name hunt's own options, not fedsec detect's."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.experiments.demo import run_demo
from tests.cli.test_hunt import TINY, hunt_args

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "run", overrides=TINY).out


def test_an_unknown_baseline_org_is_explained_with_the_baseline_options(run, tmp_path) -> None:
    result = runner.invoke(app, hunt_args(run, tmp_path / "hunt", "--baseline-org", "nosuch"))
    assert result.exit_code == 2, result.output
    assert "no threshold for org 'nosuch'" in result.output
    assert "--baseline-threshold" in result.output
    assert "--organization" not in result.output
    assert "--threshold" not in result.output.replace("--baseline-threshold", "")
    assert not (tmp_path / "hunt").exists()


def test_a_bad_baseline_threshold_is_named_as_hunt_names_it(run, tmp_path) -> None:
    result = runner.invoke(app, hunt_args(run, tmp_path / "hunt", "--baseline-threshold", "2"))
    assert result.exit_code == 2, result.output
    assert "--baseline-threshold 2.0" in result.output
    assert "--threshold" not in result.output.replace("--baseline-threshold", "")


def test_an_unknown_model_org_keeps_hunts_own_model_options(run, tmp_path) -> None:
    result = runner.invoke(app, [*hunt_args(run, tmp_path / "hunt"), "--org", "nosuch"])
    assert result.exit_code == 2, result.output
    assert "--organization" not in result.output
    assert "--baseline-" not in result.output


def test_the_help_lists_only_the_formats_hunt_reads() -> None:
    from fedsec.data.logs import LOG_FORMATS
    from fedsec.data.readers import FORMATS

    result = runner.invoke(app, ["hunt", "--help"], terminal_width=400)
    assert result.exit_code == 0
    assert all(fmt in result.output for fmt in FORMATS)
    assert not any(fmt in result.output for fmt in LOG_FORMATS)


def test_a_log_format_is_refused_before_any_work(run, tmp_path) -> None:
    args = hunt_args(run, tmp_path / "hunt")
    args[args.index("--format") + 1] = "logrobust"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "fedsec hunt reads flow files" in result.output
    assert not (tmp_path / "hunt").exists()


@pytest.mark.parametrize(("option", "inside"), [("--out", "model"), ("--incidents", "local")])
def test_an_output_inside_a_model_bundle_is_refused_naming_both(run, tmp_path, option, inside):
    """Nothing is scored or written inside the bundle a hunt reads."""
    bundle = run / "model" if inside == "model" else run / "local" / "office"
    before = sorted(p.name for p in bundle.iterdir())
    target = bundle / "hunt"
    args = hunt_args(run, tmp_path / "hunt" if option == "--incidents" else target)
    if option == "--incidents":
        args += ["--incidents", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f"{target} lies inside" in flat
    assert str(bundle) in flat
    assert sorted(p.name for p in bundle.iterdir()) == before
    assert not (tmp_path / "hunt").exists()

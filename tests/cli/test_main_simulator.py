"""fedsec generate through the CLI: output, overrides, and clean errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fedsec.cli import app

runner = CliRunner()


def test_generate_writes_the_requested_format(tmp_path) -> None:
    out = tmp_path / "gen"
    result = runner.invoke(
        app,
        [
            "generate",
            "consortium",
            "--out",
            str(out),
            "--flows",
            "3000",
            "--seed",
            "5",
            "--format",
            "nf-v2",
            "--set",
            "events=false",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["seed"], manifest["format"]) == (5, "nf-v2")
    assert abs(manifest["flows"] - 3000) < 50  # every stage has at least 5 flows
    assert sorted(p.name for p in (out / "grid").iterdir())[0] == "netflow-2024-03-04.csv"
    assert not (out / "grid" / "events.csv").exists()
    assert "consortium" in result.output


def test_generate_errors_are_one_clear_line(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["generate", "consortium", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty and was not written by fedsec" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"
    result = runner.invoke(
        app, ["generate", "consortium", "--out", str(tmp_path / "x"), "--format", "pcap"]
    )
    assert result.exit_code == 2
    assert "unknown output format 'pcap'" in result.output


class _Stop(Exception):
    """Raised by the stand-in demo: the test needs only what the CLI passed it."""


def _demo_call(monkeypatch, tmp_path, *args: str) -> tuple[list[str], str]:
    """The overrides and run folder name ``fedsec demo ARGS`` hands the demo (not run)."""
    import fedsec.experiments.demo

    seen = {}

    def fake_run_demo(out, *, overrides, **_):
        seen.update(overrides=overrides, name=out.name)
        raise _Stop

    monkeypatch.setattr(fedsec.experiments.demo, "run_demo", fake_run_demo)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", *args])
    assert isinstance(result.exception, _Stop), result.output
    return seen["overrides"], seen["name"]


def test_demo_runs_the_seed_set_with_set_and_names_its_folder_after_it(monkeypatch, tmp_path):
    """``--set seed=7`` ran seed 0: demo appended ``seed=0`` after the user's overrides."""
    overrides, name = _demo_call(monkeypatch, tmp_path, "--set", "seed=7")
    assert overrides == ["seed=7"] and name == "demo-seed7"
    overrides, name = _demo_call(monkeypatch, tmp_path, "--seed", "3", "--set", "seed=7")
    assert overrides == ["seed=7", "seed=3"] and name == "demo-seed3"  # --seed wins, as elsewhere
    assert _demo_call(monkeypatch, tmp_path) == ([], "demo-seed0")  # the simulation's seed


def test_a_seed_option_out_of_range_is_refused_naming_it(tmp_path) -> None:
    for command in (["demo"], ["generate", "consortium", "--out", str(tmp_path / "g")]):
        result = runner.invoke(app, [*command, "--seed", "-1"])
        assert result.exit_code == 2 and "seed -1 is out of range" in result.output
    assert not (tmp_path / "g").exists()

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

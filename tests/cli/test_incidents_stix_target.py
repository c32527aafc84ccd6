"""``fedsec incidents --stix`` inside the ``--out`` report folder is refused before anything is
written: it replaced the report's own ``incidents.json`` with the STIX bundle, or stood in the
folder unlisted, so that the folder's next ``--force`` run refused to replace it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.forensics.campaigns import window_files
from tests.forensics.consortium import shared_small_run

pytest.importorskip("stix2", reason="the intel extra (stix2) is not installed")

runner = CliRunner()


@pytest.fixture(scope="module")
def grid_alerts(tmp_path_factory):
    """The alerts of a model trained on a simulated consortium's first week, on grid's files."""
    root = shared_small_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("alerts") / "grid.jsonl"
    files = window_files(root / "data")["grid"]
    args = ["detect", "--model", str(root / "model"), "--format", "flows", "--org", "grid"]
    result = runner.invoke(app, [*args, "--out", str(out), "--input", *map(str, files)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", ["incidents.json", "grid.stix.json", "."])
def test_a_stix_bundle_inside_the_report_folder_is_refused(grid_alerts, tmp_path, name):
    out = tmp_path / "report"
    stix = out / name
    args = ["incidents", str(grid_alerts), "--out", str(out), "--stix", str(stix)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"--stix {stix} is inside the report folder {out}" in text
    assert not out.exists()


def test_a_stix_bundle_beside_the_report_leaves_it_replaceable(grid_alerts, tmp_path):
    out, stix = tmp_path / "report", tmp_path / "grid.stix.json"
    args = ["incidents", str(grid_alerts), "--out", str(out), "--stix", str(stix)]
    assert runner.invoke(app, args).exit_code == 0, "first run"
    document = json.loads((out / "incidents.json").read_text())
    assert document["summary"]["incidents"] >= 1
    assert json.loads(stix.read_text())["type"] == "bundle"
    again = runner.invoke(app, [*args, "--force"])
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in out.iterdir()) == [
        ".fedsec-output.json",
        "incidents.html",
        "incidents.json",
    ]

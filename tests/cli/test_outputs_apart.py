"""``--incidents`` never shares a place with the run's other outputs: ``fedsec detect --out
rep/alerts.jsonl --incidents rep`` (or ``--provenance`` there, or ``--incidents`` the alerts
file itself) and ``fedsec hunt --out h --incidents h/inc`` (or ``h`` itself) scored everything,
wrote the alerts or the hunt, then refused the incidents folder as holding files fedsec did not
write: exit 2 with half the outputs written. Now refused before anything is scored."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.forensics.campaigns import window_files
from tests.forensics.consortium import shared_small_run

runner = CliRunner()


@pytest.fixture(scope="module")
def consortium(tmp_path_factory):
    """A small simulated consortium and a classifier trained on its first week."""
    root = shared_small_run(tmp_path_factory)
    return window_files(root / "data")["grid"], root / "model"


def _detect(consortium, *args: str):
    files, bundle = consortium
    common = ["detect", "--model", str(bundle), "--format", "flows", "--org", "grid"]
    return runner.invoke(app, [*common, *args, "--input", *map(str, files)])


@pytest.mark.parametrize(
    ("outputs", "where"),
    [
        (["--out", "rep/alerts.jsonl", "--incidents", "rep"], "rep holds --out rep/alerts.jsonl"),
        (["--out", "rep", "--incidents", "rep"], "rep is the --out path"),
        (
            ["--out", "a.jsonl", "--provenance", "rep/run.json", "--incidents", "rep"],
            "rep holds --provenance rep/run.json",
        ),
        (["--out", "rep/a/b.jsonl", "--incidents", "rep/a/.."], "holds --out rep/a/b.jsonl"),
    ],
)
def test_detect_refuses_incidents_where_its_other_outputs_go(
    consortium, tmp_path, monkeypatch, outputs, where
):
    monkeypatch.chdir(tmp_path)
    result = _detect(consortium, *outputs)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Invalid value for --incidents" in text and where in text
    assert "the outputs of one run stay apart" in text
    assert list(tmp_path.iterdir()) == []  # nothing scored, nothing written


def test_hunt_refuses_incidents_in_or_around_its_folder(consortium, tmp_path, monkeypatch):
    files, bundle = consortium
    monkeypatch.chdir(tmp_path)
    common = ["hunt", "--model", str(bundle), "--baseline", str(bundle), "--org", "grid"]
    common += ["--format", "flows", "--input", *map(str, files)]
    for out, incidents, where in [
        ("h", "h/inc", "h/inc lies inside --out h"),
        ("h", "h", "h is the --out path"),
        ("h/hunt", "h", "h holds --out h/hunt"),
    ]:
        result = runner.invoke(app, [*common, "--out", out, "--incidents", incidents])
        assert result.exit_code == 2, result.output
        assert where in " ".join(result.output.split())
        assert list(tmp_path.iterdir()) == []
    result = runner.invoke(app, [*common, "--out", "h", "--incidents", "inc"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "inc" / "incidents.json").is_file()
    assert (tmp_path / "h" / "found.jsonl").is_file()

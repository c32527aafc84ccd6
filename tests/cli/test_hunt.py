"""fedsec hunt through the CLI: the table, the output folder, and clean errors (exit 2)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.experiments.demo import run_demo

runner = CliRunner()
TINY = ["flows=4000", "experiment.rounds=5", 'experiment.evaluation.arms=["local", "federated"]']


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "run", overrides=TINY).out


def hunt_args(run, out, *more: str) -> list[str]:
    days = sorted((run / "data" / "office").glob("flows-*.csv"))[7:9]
    return [
        "hunt",
        "--model",
        str(run / "model"),
        "--baseline",
        str(run / "local" / "office"),
        "--org",
        "office",
        "--format",
        "flows",
        "--out",
        str(out),
        "--input",
        *map(str, days),
        *more,
    ]


def test_hunt_prints_the_families_and_writes_the_folder(run, tmp_path) -> None:
    out = tmp_path / "hunt"
    result = runner.invoke(app, hunt_args(run, out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "hunt.json").read_text())
    assert summary["model"]["arm"] == "federated"
    assert summary["baseline"]["organizations"] == ["office"]
    for side in ("model", "baseline"):  # the operating points applied, office's own
        assert 0.0 < summary[side]["threshold"] < 1.0
    assert summary["model"]["threshold"] != summary["baseline"]["threshold"]
    for row in summary["families"]:
        assert row["family"] in result.output
    assert "input label family" in result.output  # the demo's flows carry their labels
    marker = json.loads((out / ".fedsec-output.json").read_text())
    assert marker["writer"] == "fedsec hunt"
    assert set(marker["files"]) == {
        "alerts-model.jsonl",
        "alerts-baseline.jsonl",
        "found.jsonl",
        "dropped.jsonl",
        "hunt.json",
        "report.md",
    }
    again = runner.invoke(app, hunt_args(run, out))
    assert again.exit_code == 2
    assert "pass --force" in again.output
    assert runner.invoke(app, [*hunt_args(run, out), "--force"]).exit_code == 0


def test_hunt_shows_its_one_scan_and_its_workers_change_nothing(run, tmp_path, monkeypatch):
    """Piped, the scan (both models, one read of the input) is told in whole lines (here every
    chunk: the interval is 0); one worker and three write the same alerts (but for their time
    of writing) and report."""
    from fedsec.cli import common

    monkeypatch.setattr(common, "PLAIN_EVERY_S", 0.0)
    written = []
    for workers in ("1", "3"):
        out = tmp_path / f"hunt-{workers}"
        result = runner.invoke(app, [*hunt_args(run, out), "--workers", workers])
        assert result.exit_code == 0, result.output
        told = [line for line in result.output.splitlines() if line.startswith("scoring")]
        assert told and all(line.startswith("scoring with both models: ") for line in told)
        rows = [int(line.split(": ")[1].split(" rows")[0].replace(",", "")) for line in told]
        assert rows == sorted(rows) and f"{rows[-1]} rows rescanned" in result.output
        names = ("alerts-model.jsonl", "alerts-baseline.jsonl", "found.jsonl", "report.md")
        written.append([re.sub(rb'"created": "[^"]*"', b"", (out / n).read_bytes()) for n in names])
    assert written[0] == written[1] and written[0][2].count(b"\n") > 0


def test_an_unknown_org_is_one_clear_line(run, tmp_path) -> None:
    args = hunt_args(run, tmp_path / "x")
    args[args.index("office", args.index("--org"))] = "nowhere"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "no threshold for org 'nowhere'" in result.output
    assert not (tmp_path / "x").exists()


def test_standard_input_is_refused_by_name(run, tmp_path) -> None:
    args = hunt_args(run, tmp_path / "x")
    args[args.index("--input") + 1] = "-"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "rescans stored telemetry by name, not standard input" in " ".join(result.output.split())
    assert not (tmp_path / "x").exists()


def test_a_logs_bundle_is_refused_before_any_scoring(run, tmp_path) -> None:
    logs = tmp_path / "logs-bundle"
    logs.mkdir()
    manifest = json.loads((run / "model" / "bundle.json").read_text())
    (logs / "bundle.json").write_text(json.dumps({**manifest, "kind": "deeplog"}))
    args = hunt_args(run, tmp_path / "y")
    args[args.index("--baseline") + 1] = str(logs)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "a logs bundle" in result.output
    assert not (tmp_path / "y").exists()


def test_hunt_groups_its_new_finds_into_incidents(run, tmp_path) -> None:
    """--incidents: the new finds (found.jsonl), not every alert, correlated into incidents."""
    out, report = tmp_path / "hunt", tmp_path / "incidents"
    result = runner.invoke(app, hunt_args(run, out, "--incidents", str(report)))
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in (out / "found.jsonl").read_text().splitlines()]
    document = json.loads((report / "incidents.json").read_text())
    assert document["summary"]["alerts"] == len(found)
    grouped = sum(i["alerts"] for i in document["incidents"])
    assert grouped + document["isolated"]["alerts"] == len(found)
    assert (report / "incidents.html").exists()


def test_hunt_checks_the_incident_folder_before_scoring(run, tmp_path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    out = tmp_path / "hunt"
    result = runner.invoke(app, hunt_args(run, out, "--incidents", str(mine)))
    assert result.exit_code == 2
    assert not out.exists()
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_force_never_replaces_the_run_the_hunt_reads_its_model_from(run, tmp_path) -> None:
    """``--out`` naming the demo's run folder, with --force: the training run is not a hunt's
    output, so it is refused before any scoring and every file of the run stays."""
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    result = runner.invoke(app, [*hunt_args(run, run), "--force"])
    assert result.exit_code == 2
    assert "holds the output of `fedsec demo`, not of `fedsec hunt`" in " ".join(
        result.output.split()
    )
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


def test_a_day_without_rows_is_skipped_and_said_not_the_whole_hunt_refused(run, tmp_path):
    """A header-only day file (a sensor down, a quiet day) among a week's aborted the hunt;
    alone, it is still refused."""
    days = sorted((run / "data" / "office").glob("flows-*.csv"))[7:9]
    quiet = tmp_path / "flows-quiet.csv"
    quiet.write_text(days[0].read_text().splitlines()[0] + "\n")
    whole = runner.invoke(app, hunt_args(run, tmp_path / "whole"))
    args = hunt_args(run, tmp_path / "hunt", str(quiet))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = f"1 input file(s) held no rows, skipped: {quiet}"
    assert said in " ".join(result.output.split())
    summary = json.loads((tmp_path / "hunt" / "hunt.json").read_text())
    assert summary["notices"] == [said]
    assert summary["rows"] == json.loads((tmp_path / "whole" / "hunt.json").read_text())["rows"]
    assert whole.exit_code == 0 and said in (tmp_path / "hunt" / "report.md").read_text()
    alone = [*hunt_args(run, tmp_path / "alone")[: args.index("--input") + 1], str(quiet)]
    refused = runner.invoke(app, alone)
    assert refused.exit_code == 2 and "header but no rows" in refused.output
    assert not (tmp_path / "alone").exists()

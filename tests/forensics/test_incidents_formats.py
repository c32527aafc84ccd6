"""One run's alerts given in two formats (ECS and flat lines, or EVE) are counted once by
``fedsec incidents``: the flat line carries no event id, so its content hash never matched the
ECS ``event.id`` and every alert was counted twice. Real flows: CIC-IDS2017's DDoS capture."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.forensics.alerts import NO_ORG, read_alerts
from fedsec.forensics.hosts import Networks
from fedsec.forensics.incidents import distinct_alerts, find_incidents, findings_json
from tests.forensics.cic_alerts import ddos_alerts, write

ALERTS = 40


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The same 40 alerts as ECS, EVE and flat lines, and the flat lines of another model
    (other scores) on the same flows."""
    folder = tmp_path_factory.mktemp("alerts")
    alerts = ddos_alerts(ALERTS)
    files = {name: write(folder / f"{name}.jsonl", alerts, name) for name in ("ecs", "eve")}
    files["flat"] = write(folder / "flat.jsonl", alerts, "fedsec")
    alerts.scores = np.full(ALERTS, 0.8)
    files["other"] = write(folder / "other.jsonl", alerts, "fedsec")
    return files


@pytest.mark.parametrize("order", [("ecs", "flat"), ("flat", "ecs"), ("flat", "eve", "ecs")])
def test_one_runs_alerts_in_several_formats_count_once(written, order) -> None:
    alerts = read_alerts([written[name] for name in order])
    kept, dropped = distinct_alerts(alerts)
    assert (len(kept), dropped) == (ALERTS, ALERTS * (len(order) - 1))
    # the typed line is kept wherever it comes: it names the organization and techniques
    assert {a.org for a in kept} == {"plant"} and all(a.techniques for a in kept)
    rows = [a.row for a in kept]
    assert rows == sorted(rows) and len(set(rows)) == ALERTS


def test_another_models_alerts_on_the_same_flows_are_kept(written) -> None:
    alerts = read_alerts([written["ecs"], written["other"]])
    kept, dropped = distinct_alerts(alerts)
    assert (len(kept), dropped) == (2 * ALERTS, 0)


def test_flat_lines_of_another_organization_are_kept(written) -> None:
    """A flat line names no organization; read as another's (``--org``), it is not the same."""
    typed = read_alerts([written["ecs"]])
    flat = read_alerts([written["flat"]], default_org="grid")
    assert {a.org for a in flat} == {"grid"} and NO_ORG not in {a.org for a in typed}
    kept, dropped = distinct_alerts(typed + flat)
    assert (len(kept), dropped) == (2 * ALERTS, 0)


def test_the_summary_and_the_cli_count_the_repeats(written, tmp_path) -> None:
    once = findings_json(find_incidents(read_alerts([written["ecs"]])), Networks())
    both = find_incidents(read_alerts([written["ecs"], written["flat"]]))
    document = findings_json(both, Networks())
    assert document["summary"] == {**once["summary"], "duplicate_alerts": ALERTS}
    assert document["incidents"] == once["incidents"]
    out = tmp_path / "report"
    args = ["incidents", str(written["ecs"]), str(written["flat"]), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "incidents.json").read_text())["summary"]
    assert summary["alerts"] == ALERTS and summary["duplicate_alerts"] == ALERTS
    assert f"{ALERTS} duplicate alerts dropped" in " ".join(result.output.split())

"""``fedsec incidents`` and ``fedsec detect --incidents`` through the CLI: the report folder,
the STIX bundle, clean errors (exit 2, the file named, nothing written) and no overwriting."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.campaigns import window_files
from fedsec.forensics.incidents import find_incidents
from tests.forensics.consortium import shared_small_run
from tests.forensics.ecs import ecs_alert, from_flat, write_lines
from tests.forensics.kill_chain import kill_chain

runner = CliRunner()


@pytest.fixture
def alerts(tmp_path):
    rows = iter(range(1, 1000))
    path = tmp_path / "alerts.jsonl"
    write_lines(path, kill_chain("office", 0, rows) + kill_chain("office", 5000, rows))
    return path


def test_incidents_writes_the_report_and_the_stix_bundle(alerts, tmp_path) -> None:
    out, stix = tmp_path / "report", tmp_path / "office.stix.json"
    result = runner.invoke(
        app, ["incidents", str(alerts), "--out", str(out), "--stix", str(stix), "--tlp", "green"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "incidents.json").read_text())
    assert document["summary"]["incidents"] == 2
    assert (out / "incidents.html").read_text().count("data:image/png;base64,") == 2
    assert json.loads((out / ".fedsec-output.json").read_text())["files"] == [
        "incidents.html",
        "incidents.json",
    ]
    bundle = json.loads(stix.read_text())
    assert bundle["type"] == "bundle" and any(o["type"] == "incident" for o in bundle["objects"])
    assert "TLP:GREEN" in stix.read_text()


def test_nothing_is_exported_unless_asked(alerts, tmp_path) -> None:
    result = runner.invoke(app, ["incidents", str(alerts), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.jsonl", "r"]


def test_an_alert_file_given_twice_counts_each_alert_once(alerts, tmp_path) -> None:
    once = runner.invoke(app, ["incidents", str(alerts), "--out", str(tmp_path / "once")])
    args = ["incidents", str(alerts), str(alerts), "--out", str(tmp_path / "twice")]
    twice = runner.invoke(app, args)
    assert once.exit_code == 0 and twice.exit_code == 0, twice.output
    expected = json.loads((tmp_path / "once" / "incidents.json").read_text())
    document = json.loads((tmp_path / "twice" / "incidents.json").read_text())
    assert document["summary"] == {**expected["summary"], "duplicate_alerts": 104}
    assert document["incidents"] == expected["incidents"]
    console = " ".join(twice.output.split())
    assert "104 alerts → 2 incidents (0 isolated alerts; 104 duplicate alerts dropped)" in console
    assert "104 duplicate alerts dropped" in (tmp_path / "twice" / "incidents.html").read_text()


def test_no_incident_no_stix_bundle(tmp_path) -> None:
    path = tmp_path / "quiet.jsonl"
    write_lines(path, [ecs_alert(60 * k, "10.1.2.3", "10.1.2.4", "recon", row=k) for k in range(3)])
    stix = tmp_path / "x.stix.json"
    result = runner.invoke(
        app, ["incidents", str(path), "--out", str(tmp_path / "r"), "--stix", str(stix)]
    )
    assert result.exit_code == 0, result.output
    assert "nothing to share" in result.output and not stix.exists()
    document = json.loads((tmp_path / "r" / "incidents.json").read_text())
    assert document["summary"]["isolated_alerts"] == 3


def test_a_bad_alert_line_exits_2_naming_it_and_writes_nothing(alerts, tmp_path) -> None:
    with alerts.open("a") as handle:
        handle.write('{"family": "recon", "timestamp": "yesterday"}\n')
    out, stix = tmp_path / "report", tmp_path / "x.stix.json"
    result = runner.invoke(app, ["incidents", str(alerts), "--out", str(out), "--stix", str(stix)])
    assert result.exit_code == 2
    assert f"{alerts}:105" in result.output and "no readable time" in result.output
    assert not out.exists() and not stix.exists()


def test_the_stix_bundle_never_replaces_the_alerts(alerts, tmp_path) -> None:
    kept = alerts.read_bytes()
    args = ["incidents", str(alerts), "--out", str(tmp_path / "r"), "--force"]
    result = runner.invoke(app, [*args, "--stix", str(alerts)])
    assert result.exit_code == 2
    assert "the bundle would replace the alerts" in " ".join(result.output.split())
    assert alerts.read_bytes() == kept and not (tmp_path / "r").exists()


def test_stix_of_several_organizations_needs_the_reporting_identity(tmp_path) -> None:
    rows = iter(range(1, 1000))
    path = tmp_path / "alerts.jsonl"
    write_lines(path, kill_chain("office", 0, rows) + kill_chain("grid", 0, rows))
    stix = tmp_path / "x.stix.json"
    args = ["incidents", str(path), "--out", str(tmp_path / "r"), "--stix", str(stix)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--identity" in result.output
    assert not stix.exists() and not (tmp_path / "r").exists()
    assert runner.invoke(app, [*args, "--identity", "office"]).exit_code == 0
    assert '"name": "office"' in stix.read_text()


def test_an_earlier_report_is_replaced_only_with_force(alerts, tmp_path) -> None:
    out = tmp_path / "report"
    args = ["incidents", str(alerts), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    refused = runner.invoke(app, ["incidents", str(alerts), "--out", str(foreign), "--force"])
    assert refused.exit_code == 2 and (foreign / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [("--tlp", "purple", "--tlp 'purple'"), ("--internal", "10.0.0.0/33", "10.0.0.0/33")],
)
def test_bad_options_are_refused_before_reading(alerts, tmp_path, option, value, problem):
    result = runner.invoke(
        app, ["incidents", str(alerts), "--out", str(tmp_path / "r"), option, value]
    )
    assert result.exit_code == 2 and problem in result.output
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def consortium(tmp_path_factory):
    """A small simulated consortium and a classifier trained on its first week."""
    root = shared_small_run(tmp_path_factory)
    return root / "data", root / "model"


def test_detect_writes_incidents_beside_the_alerts(consortium, tmp_path) -> None:
    data, bundle = consortium
    files = window_files(data)["grid"]
    out, report = tmp_path / "alerts.jsonl", tmp_path / "incidents"
    args = ["detect", "--model", str(bundle), "--format", "flows", "--org", "grid"]
    result = runner.invoke(
        app, [*args, "--out", str(out), "--incidents", str(report), "--input", *map(str, files)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads((report / "incidents.json").read_text())
    alerts = out.read_text().count("\n")
    assert document["summary"]["alerts"] == alerts
    assert document["summary"]["incidents"] >= 1
    assert {r["organization"] for r in document["incidents"]} == {"grid"}
    again = runner.invoke(
        app,
        [
            *args,
            "--out",
            str(tmp_path / "b.jsonl"),
            "--incidents",
            str(report),
            "--input",
            *map(str, files),
        ],
    )
    assert again.exit_code == 2 and not (tmp_path / "b.jsonl").exists()  # refused before scoring


def test_detect_piped_into_incidents_gives_the_incidents_of_detect_incidents(
    consortium, tmp_path
) -> None:
    """``fedsec detect --out - | fedsec incidents -``: a real pipe between two processes gives
    the incidents ``fedsec detect --incidents`` writes from its alerts file."""
    data, bundle = consortium
    files = [str(f) for f in window_files(data)["grid"]]
    detect = [sys.executable, "-m", "fedsec", "detect", "--model", str(bundle)]
    detect += ["--format", "flows", "--org", "grid", "--input", *files]
    filed = tmp_path / "filed"
    done = runner.invoke(
        app, [*detect[3:], "--out", str(tmp_path / "a.jsonl"), "--incidents", str(filed)]
    )
    assert done.exit_code == 0, done.output
    piped = tmp_path / "piped"
    incidents = [sys.executable, "-m", "fedsec", "incidents", "-", "--out", str(piped)]
    source = subprocess.Popen([*detect, "--out", "-"], stdout=subprocess.PIPE)
    sink = subprocess.run(incidents, stdin=source.stdout, capture_output=True, check=False)
    source.stdout.close()
    assert source.wait() == 0 and sink.returncode == 0, sink.stderr
    expected = json.loads((filed / "incidents.json").read_text())
    assert expected["summary"]["incidents"] >= 1
    got = json.loads((piped / "incidents.json").read_text())
    assert got["provenance"]["alert_files"] == [{"path": "-", "sha256": None}]  # not hashed
    del got["provenance"], expected["provenance"]  # a file's and standard input's differ
    assert got == expected


def test_a_bad_line_on_standard_input_is_named_so(alerts, tmp_path) -> None:
    text = alerts.read_text() + '{"family": "recon", "timestamp": "yesterday"}\n'
    out = tmp_path / "report"
    result = runner.invoke(app, ["incidents", "-", "--out", str(out)], input=text)
    assert result.exit_code == 2
    assert "standard input:105" in result.output and "no readable time" in result.output
    assert not out.exists()


def test_the_same_detections_as_ecs_alerts_give_the_same_incidents(consortium, tmp_path):
    data, bundle = consortium
    files = window_files(data)["office"]
    out = tmp_path / "office.jsonl"
    args = ["detect", "--model", str(bundle), "--format", "flows", "--org", "office"]
    result = runner.invoke(app, [*args, "--out", str(out), "--input", *map(str, files)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    write_lines(tmp_path / "ecs.jsonl", [from_flat(line, "office") for line in lines])
    flat = find_incidents(read_alerts([out], default_org="office"))
    ecs = find_incidents(read_alerts([tmp_path / "ecs.jsonl"]))
    assert flat.incidents, "the office's test week holds campaigns"
    summary = [
        [(i.org, len(i.alerts), i.first_seen, i.stages) for i in f.incidents] for f in (flat, ecs)
    ]
    assert summary[0] == summary[1]


def test_flat_alerts_read_again_from_another_file_count_once(consortium, tmp_path) -> None:
    """A flat alert has no id: it is known by its content, so a copy of the alerts file and an
    overlapping export are repeats, dropped and counted as the ECS ones are."""
    data, bundle = consortium
    files = window_files(data)["office"]
    out = tmp_path / "office.jsonl"
    args = ["detect", "--model", str(bundle), "--format", "flows", "--org", "office"]
    args += ["--alert-format", "fedsec", "--out", str(out), "--input", *map(str, files)]
    assert runner.invoke(app, args).exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    copy, tail = tmp_path / "copy.jsonl", tmp_path / "tail.jsonl"
    copy.write_text("".join(lines))
    tail.write_text("".join(lines[len(lines) // 2 :]))
    once = runner.invoke(app, ["incidents", str(out), "--out", str(tmp_path / "once")])
    again = [str(out), str(copy), str(tail), "--out", str(tmp_path / "again")]
    result = runner.invoke(app, ["incidents", *again])
    assert once.exit_code == 0 and result.exit_code == 0, result.output
    expected = json.loads((tmp_path / "once" / "incidents.json").read_text())
    document = json.loads((tmp_path / "again" / "incidents.json").read_text())
    repeats = len(lines) + len(lines) - len(lines) // 2
    assert document["summary"] == {**expected["summary"], "duplicate_alerts": repeats}
    assert document["incidents"] == expected["incidents"]
    assert f"{repeats} duplicate alerts dropped" in " ".join(result.output.split())


def test_a_flat_alert_without_time_takes_its_file_s(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"family": "recon", "score": 0.9, "src_ip": "1.2.3.4"}) + "\n")
    os.utime(path, (1710144000, 1710144000))
    [alert] = read_alerts([path])
    assert alert.time == 1710144000.0
    assert ecs_alert(0, None, None, "recon")["@timestamp"] == "2024-03-11T08:00:00Z"

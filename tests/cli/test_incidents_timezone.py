"""``fedsec incidents --timezone ZONE`` reads flat alerts of earlier versions (a flow's local
time without a zone, no ``timestamp_utc``) on real CIC-IDS2017 DDoS flows: dated as the
current flat alerts written with ``fedsec detect --timezone ZONE``; without it such a file is
refused naming the option."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.detect.ecs_values import zone
from tests.forensics.cic_alerts import ddos_alerts, documents, write

runner = CliRunner()


@pytest.fixture
def flat_files(tmp_path):
    """The first 60 DDoS flows as current flat alerts written in Halifax time, and the same
    alerts as earlier versions wrote them (no ``timestamp_utc``)."""
    current = write(tmp_path / "current.jsonl", ddos_alerts(60), "fedsec", zone("America/Halifax"))
    earlier = [{k: v for k, v in d.items() if k != "timestamp_utc"} for d in documents(current)]
    assert all("T" not in d["timestamp"] for d in earlier)  # local time, no zone
    old = tmp_path / "earlier.jsonl"
    old.write_text("".join(json.dumps(d) + "\n" for d in earlier))
    return current, old


def _incidents(path, out, *extra: str) -> dict:
    result = runner.invoke(app, ["incidents", str(path), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "incidents.json").read_text())


def test_earlier_flat_alerts_are_read_in_the_zone_given(flat_files, tmp_path) -> None:
    current, old = flat_files
    expected = _incidents(current, tmp_path / "a")
    found = _incidents(old, tmp_path / "b", "--timezone", "America/Halifax")
    times = [(i["first_seen"][:19], i["last_seen"][:19]) for i in found["incidents"]]
    wanted = [(i["first_seen"][:19], i["last_seen"][:19]) for i in expected["incidents"]]
    assert times and times == wanted  # to the second: timestamp_utc is rounded to the ms
    assert times[0][0] == "2017-07-07T21:57:04"  # 18:57:04 local time, UTC-3


def test_without_the_zone_they_are_refused_naming_the_option(flat_files, tmp_path) -> None:
    _, old = flat_files
    result = runner.invoke(app, ["incidents", str(old), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "--timezone" in result.output and "no zone" in result.output
    assert not (tmp_path / "r").exists()


def test_an_unknown_zone_is_refused_before_reading(flat_files, tmp_path) -> None:
    _, old = flat_files
    args = ["incidents", str(old), "--out", str(tmp_path / "r"), "--timezone", "Mars/Base"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--timezone" in result.output

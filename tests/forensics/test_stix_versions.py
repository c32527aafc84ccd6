"""STIX re-exports: an id always comes with the same ``created`` (STIX 2.1 §3.2), whichever
alerts the export was made from; a sighting's last seen is its last alert's time."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("stix2", reason="the intel extra (stix2) is not installed")

from fedsec.forensics.alerts import iso, read_alerts
from fedsec.forensics.hosts import Networks
from fedsec.forensics.incidents import find_incidents, findings_json
from fedsec.forensics.stix import export_stix
from tests.forensics.cic_alerts import ddos_alerts, write

#: The victim's network: the DDoS source 172.16.0.1 is outside, so it is exported.
NETWORKS = Networks(["192.168.0.0/16"])


def _objects(alerts) -> dict[str, dict]:
    findings = find_incidents(alerts)
    text = export_stix(findings, findings_json(findings, NETWORKS), "plant", "amber", NETWORKS)
    return {o["id"]: o for o in json.loads(text)["objects"]}


def test_an_id_keeps_its_created_in_an_export_of_fewer_alerts(tmp_path) -> None:
    alerts = read_alerts([write(tmp_path / "a.jsonl", ddos_alerts(120))])
    every, later = _objects(alerts), _objects(sorted(alerts, key=lambda a: a.time)[60:])
    shared = set(every) & set(later)
    assert {o["type"] for o in (every[i] for i in shared)} >= {"identity", "indicator"}
    assert {i: every[i].get("created") for i in shared} == {
        i: later[i].get("created") for i in shared
    }


def test_a_sightings_last_seen_is_its_last_alerts_time(tmp_path) -> None:
    alerts = read_alerts([write(tmp_path / "a.jsonl", ddos_alerts(40))])
    [sighting] = [o for o in _objects(alerts).values() if o["type"] == "sighting"]
    assert sighting["last_seen"] == iso(max(a.time for a in alerts))
    assert sighting["first_seen"] == iso(min(a.time for a in alerts))

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


def _objects(alerts, tlp: str = "amber") -> dict[str, dict]:
    findings = find_incidents(alerts)
    text = export_stix(findings, findings_json(findings, NETWORKS), "plant", tlp, NETWORKS)
    return {o["id"]: o for o in json.loads(text)["objects"]}


@pytest.mark.parametrize(("start", "stop", "kinds"), [(60, None, set()), (0, 60, {"indicator"})])
def test_an_id_keeps_its_created_in_an_export_of_fewer_alerts(tmp_path, start, stop, kinds):
    """(An indicator valid from another first alert is another indicator.)"""
    alerts = read_alerts([write(tmp_path / "a.jsonl", ddos_alerts(120))])
    every, later = _objects(alerts), _objects(sorted(alerts, key=_time)[start:stop])
    shared = set(every) & set(later)
    assert {o["type"] for o in (every[i] for i in shared)} >= {"identity", *kinds}
    assert {i: every[i].get("created") for i in shared} == {
        i: later[i].get("created") for i in shared
    }


def test_a_sightings_last_seen_is_its_last_alerts_time(tmp_path) -> None:
    alerts = read_alerts([write(tmp_path / "a.jsonl", ddos_alerts(40))])
    [sighting] = [o for o in _objects(alerts).values() if o["type"] == "sighting"]
    assert sighting["last_seen"] == iso(max(a.time for a in alerts))
    assert sighting["first_seen"] == iso(min(a.time for a in alerts))


def _versions(objects: dict[str, dict]) -> dict[tuple[str, str], dict]:
    return {(i, o.get("modified", "")): o for i, o in objects.items()}


@pytest.mark.parametrize(("start", "stop"), [(60, None), (0, 60), (30, 90)])
def test_one_id_and_modified_is_one_object_whatever_the_alerts(tmp_path, start, stop) -> None:
    """Exports of other alerts of the same flows (a later first alert, an earlier last one):
    every object of one id and ``modified`` in both is the same object (STIX 2.1 §3.2)."""
    alerts = sorted(read_alerts([write(tmp_path / "a.jsonl", ddos_alerts(120))]), key=_time)
    every, part = _versions(_objects(alerts)), _versions(_objects(alerts[start:stop]))
    shared = set(every) & set(part)
    assert {every[k]["type"] for k in shared} >= {"identity", "attack-pattern"}
    assert {k: every[k] for k in shared} == {k: part[k] for k in shared}


def test_an_export_at_another_tlp_shares_no_object_with_the_first(tmp_path) -> None:
    """A marking is part of an object: the same incidents at TLP:AMBER and TLP:GREEN must not
    give one id and ``modified`` two contents (a recipient of both would keep either)."""
    alerts = read_alerts([write(tmp_path / "a.jsonl", ddos_alerts(60))])
    amber, green = _objects(alerts, "amber"), _objects(alerts, "green")
    marked = {i for i, o in amber.items() if "object_marking_refs" in o}
    assert {amber[i]["type"] for i in marked} >= {"identity", "attack-pattern", "indicator"}
    shared = set(amber) & set(green)
    assert {i: amber[i] for i in shared} == {i: green[i] for i in shared}
    assert not marked & set(green)


def test_an_export_of_more_alerts_after_the_same_first_versions_the_indicator(tmp_path) -> None:
    alerts = sorted(read_alerts([write(tmp_path / "a.jsonl", ddos_alerts(120))]), key=_time)
    [first] = [o for o in _objects(alerts[:60]).values() if o["type"] == "indicator"]
    [more] = [o for o in _objects(alerts).values() if o["type"] == "indicator"]
    assert first["id"] == more["id"] and first["valid_from"] == more["valid_from"]
    assert first["modified"] < more["modified"]


def _time(alert) -> float:
    return alert.time

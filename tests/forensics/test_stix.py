"""The STIX 2.1 export: valid for the stix2 library, ATT&CK references for every technique, a
TLP marking on every object, the reporting organization as identity, and nothing internal."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

stix2 = pytest.importorskip("stix2", reason="the intel extra (stix2) is not installed")

from fedsec.forensics.alerts import read_alerts  # noqa: E402
from fedsec.forensics.hosts import Networks  # noqa: E402
from fedsec.forensics.incidents import find_incidents, findings_json  # noqa: E402
from fedsec.forensics.stix import export_stix  # noqa: E402
from tests.forensics.ecs import ecs_alert, stamp, write_lines  # noqa: E402
from tests.forensics.kill_chain import kill_chain  # noqa: E402


@pytest.fixture
def exported(tmp_path):
    rows = iter(range(1, 1000))
    write_lines(
        tmp_path / "a.jsonl", kill_chain("office", 0, rows) + kill_chain("office", 5000, rows)
    )
    findings = find_incidents(read_alerts([tmp_path / "a.jsonl"]))
    document = findings_json(findings, Networks())
    return findings, document, export_stix(findings, document, "office", "amber", Networks())


def test_the_bundle_passes_the_stix2_library_checks(exported) -> None:
    _, _, text = exported
    bundle = stix2.parse(text, allow_custom=False)
    assert bundle.type == "bundle"
    kinds = sorted({o.type for o in bundle.objects})
    assert kinds == [
        "attack-pattern",
        "grouping",
        "identity",
        "incident",
        "indicator",
        "marking-definition",
        "relationship",
        "sighting",
    ]
    for obj in bundle.objects:
        assert obj.spec_version == "2.1"


def test_every_technique_is_an_attack_pattern_with_its_attack_reference(exported) -> None:
    findings, _, text = exported
    objects = json.loads(text)["objects"]
    patterns = {
        o["external_references"][0]["external_id"]: o
        for o in objects
        if o["type"] == "attack-pattern"
    }
    seen = {t.id for i in findings.incidents for a in i.alerts for t in a.techniques}
    assert set(patterns) == seen == {"T1021", "T1041", "T1110", "T1486"}
    for technique, pattern in patterns.items():
        reference = pattern["external_references"][0]
        assert reference["source_name"] == "mitre-attack"
        assert reference["url"] == f"https://attack.mitre.org/techniques/{technique}/"
        assert pattern["kill_chain_phases"][0]["kill_chain_name"] == "mitre-attack"


def test_every_object_is_marked_and_created_by_the_reporting_organization(exported) -> None:
    _, _, text = exported
    objects = json.loads(text)["objects"]
    [identity] = [o for o in objects if o["type"] == "identity"]
    assert (identity["name"], identity["identity_class"]) == ("office", "organization")
    amber = stix2.TLP_AMBER.id
    for obj in objects:
        if obj["type"] == "marking-definition":
            assert obj["id"] == amber
            continue
        assert obj["object_marking_refs"] == [amber]
        if obj["type"] != "identity":
            assert obj["created_by_ref"] == identity["id"]


def test_only_external_addresses_leave_as_indicators_and_sightings(exported) -> None:
    _, _, text = exported
    objects = json.loads(text)["objects"]
    patterns = sorted(o["pattern"] for o in objects if o["type"] == "indicator")
    assert patterns == [
        "[ipv4-addr:value = '198.18.0.1']",
        "[ipv4-addr:value = '198.18.0.2']",
        "[ipv4-addr:value = '198.18.9.9']",
    ]
    assert "10.1." not in text and "flows.csv" not in text
    sightings = [o for o in objects if o["type"] == "sighting"]
    # each external address, sighted in each of the two incidents
    assert sorted(o["count"] for o in sightings) == [10, 10, 10, 10, 10, 10]


def test_the_same_incidents_give_the_same_bundle(exported) -> None:
    findings, document, text = exported
    assert export_stix(findings, document, "office", "amber", Networks()) == text
    assert export_stix(findings, document, "office", "red", Networks()) != text


def _bundle(tmp_path, alerts: list[dict]) -> list[dict]:
    write_lines(tmp_path / "b.jsonl", alerts)
    findings = find_incidents(read_alerts([tmp_path / "b.jsonl"]), min_alerts=1)
    document = findings_json(findings, Networks())
    return json.loads(export_stix(findings, document, "office", "amber", Networks()))["objects"]


def test_an_internal_host_written_as_ipv4_mapped_ipv6_never_leaves(tmp_path) -> None:
    """Dual-stack sensors log IPv4 peers as ``::ffff:a.b.c.d``: 10.1.0.7 so written is still
    internal, and an outside attacker so written is exported as the IPv4 address it is."""
    rows = iter(range(1, 100))
    alerts = [
        ecs_alert(k, "::ffff:198.18.0.1", "::ffff:10.1.0.7", "brute_force", row=next(rows))
        for k in range(6)
    ]
    objects = _bundle(tmp_path, alerts)
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    assert patterns == ["[ipv4-addr:value = '198.18.0.1']"]
    assert "10.1.0.7" not in json.dumps(objects) and "a01:7" not in json.dumps(objects)


def test_an_outside_target_is_a_victim_and_a_c2_server_an_indicator(tmp_path) -> None:
    """An infected host flooding an outside web server: the server is a victim, not an
    indicator; the same host's traffic to its controller makes the controller one."""
    rows = iter(range(1, 100))
    flood = [ecs_alert(k, "10.1.0.9", "198.18.5.5", "dos", row=next(rows)) for k in range(6)]
    beacons = [
        ecs_alert(10 + k, "10.1.0.9", "198.18.6.6", "botnet", row=next(rows)) for k in range(6)
    ]
    objects = _bundle(tmp_path, flood + beacons)
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    assert patterns == ["[ipv4-addr:value = '198.18.6.6']"]


def test_an_indicator_is_valid_from_its_addresss_first_alert_in_any_incident(tmp_path) -> None:
    """One attacker, recon in January and ransomware in March (two incidents, the March one
    ranked first): its one indicator is valid from January, before every sighting."""
    rows = iter(range(1, 100))
    january = [ecs_alert(k, "198.18.0.9", "10.1.0.5", "recon", row=next(rows)) for k in range(6)]
    march = [
        ecs_alert(80_000 + k, "198.18.0.9", "10.1.0.6", "ransomware", row=next(rows), score=1.0)
        for k in range(12)
    ]
    objects = _bundle(tmp_path, january + march)
    (indicator,) = [o for o in objects if o["type"] == "indicator"]
    sightings = [o for o in objects if o["type"] == "sighting"]
    assert len(sightings) == 2 and indicator["valid_from"] == stamp(0)
    since = datetime.fromisoformat(indicator["valid_from"])
    assert all(since <= datetime.fromisoformat(s["first_seen"]) for s in sightings)
    assert indicator["name"] == "198.18.0.9: ransomware, recon"

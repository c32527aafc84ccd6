"""The STIX 2.1 export: valid for the stix2 library, ATT&CK references for every technique, a
TLP marking on every object, the reporting organization as identity, and nothing internal."""

from __future__ import annotations

import json

import pytest

stix2 = pytest.importorskip("stix2", reason="the intel extra (stix2) is not installed")

from fedsec.forensics.alerts import read_alerts  # noqa: E402
from fedsec.forensics.hosts import Networks  # noqa: E402
from fedsec.forensics.incidents import find_incidents, findings_json  # noqa: E402
from fedsec.forensics.stix import export_stix  # noqa: E402
from tests.forensics.ecs import write_lines  # noqa: E402
from tests.forensics.test_incidents import kill_chain  # noqa: E402


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

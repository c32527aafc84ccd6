"""Correlation and the incident summary on a kill chain played out in alerts: one campaign at
one organization is one incident with its stages in order; other organizations, later returns,
floods and scattered false alarms are kept apart as they should be."""

from __future__ import annotations

import random

import pytest

from fedsec.forensics.alerts import Alert, read_alerts
from fedsec.forensics.hosts import Networks
from fedsec.forensics.incidents import find_incidents, findings_json, incident_id
from tests.forensics.ecs import ecs_alert, write_lines
from tests.forensics.kill_chain import ATTACKERS, FOOTHOLD, kill_chain


def flood(start: float, rows: iter) -> list[dict]:
    """A botnet on many hosts: no source and no target repeats."""
    return [
        ecs_alert(start + 0.5 * k, f"198.19.{k}.1", f"10.1.1.{k}", "ddos", row=next(rows))
        for k in range(30)
    ]


def false_alarms(rows: iter) -> list[dict]:
    """Scattered false alarms between unrelated benign hosts, hours apart."""
    rng = random.Random(0)
    families = ["recon", "botnet", "dos", "web_attack"]
    return [
        ecs_alert(180 * k + 7, f"10.1.2.{k}", f"10.1.3.{k}", rng.choice(families), row=next(rows))
        for k in range(40)
    ]


@pytest.fixture
def alerts(tmp_path) -> list[Alert]:
    rows = iter(range(1, 10_000))
    lines = [
        *kill_chain("office", 0, rows),
        *kill_chain("grid", 600, rows),  # the same actors at another organization
        *kill_chain("office", 3 * 24 * 60, rows),  # and back at the office three days later
        *flood(2000, rows),
        *false_alarms(rows),
    ]
    random.Random(1).shuffle(lines)
    write_lines(tmp_path / "alerts.jsonl", lines)
    return read_alerts([tmp_path / "alerts.jsonl"])


def test_a_campaign_at_one_organization_is_one_incident_with_its_kill_chain(alerts) -> None:
    findings = find_incidents(alerts)
    by_start = sorted(findings.incidents, key=lambda i: (i.first_seen, i.org))
    assert [(i.org, len(i.alerts)) for i in by_start] == [
        ("office", 52),
        ("grid", 52),
        ("office", 30),  # the flood
        ("office", 52),
    ]
    chain = by_start[0]
    assert chain.stages == ["credential-access", "lateral-movement", "exfiltration", "impact"]
    assert chain.last_seen - chain.first_seen == 538 * 60
    assert {a.family for a in by_start[2].alerts} == {"ddos"}


def test_scattered_false_alarms_stay_isolated_and_are_listed(alerts) -> None:
    findings = find_incidents(alerts)
    isolated = [a for g in findings.isolated for a in g.alerts]
    assert len(isolated) == 40
    assert all(a.source_ip.startswith("10.1.2.") for a in isolated)
    document = findings_json(findings, Networks())
    assert document["summary"] == {
        "alerts": len(alerts),
        "incidents": 4,
        "by_severity": {"critical": 3, "medium": 1},  # the ddos flood: a medium family
        "isolated_alerts": 40,
        "duplicate_alerts": 0,
    }
    assert len(document["isolated"]["alert_ids"]) == 40


def test_an_alert_read_twice_counts_once(alerts) -> None:
    once = findings_json(find_incidents(alerts), Networks())
    twice = find_incidents([*alerts, *alerts[:100], *alerts])
    assert twice.duplicates == len(alerts) + 100
    document = findings_json(twice, Networks())
    assert document["summary"] == {**once["summary"], "duplicate_alerts": len(alerts) + 100}
    assert document["incidents"] == once["incidents"]
    assert document["isolated"] == once["isolated"]


def test_the_same_event_id_at_another_organization_is_another_alert(tmp_path) -> None:
    lines = [
        ecs_alert(k, "198.18.5.5", "10.1.0.9", "recon", org=org, event_id=f"e{k}", row=k + 1)
        for org in ("office", "grid")
        for k in range(12)
    ]
    write_lines(tmp_path / "a.jsonl", lines + lines[:3])
    findings = find_incidents(read_alerts([tmp_path / "a.jsonl"]))
    assert findings.duplicates == 3
    assert sorted((i.org, len(i.alerts)) for i in findings.incidents) == [
        ("grid", 12),
        ("office", 12),
    ]


def test_without_the_pivot_the_intrusion_and_what_follows_split(alerts, monkeypatch) -> None:
    monkeypatch.setattr("fedsec.forensics.grouping.PIVOT_TACTICS", frozenset())
    office = [i for i in find_incidents(alerts).incidents if i.org == "office"]
    assert len(office) == 5  # brute force apart from the foothold's later stages, twice


def test_the_summary_names_stages_hosts_and_attack_techniques(alerts) -> None:
    findings = find_incidents(alerts)
    record = findings_json(findings, Networks())["incidents"]
    chain = next(r for r in record if r["organization"] == "grid")
    assert chain["kill_chain"] == [
        "credential-access",
        "lateral-movement",
        "exfiltration",
        "impact",
    ]
    assert [s["family"] for s in chain["timeline"]] == [
        "brute_force",
        "lateral_movement",
        "exfiltration",
        "ransomware",
    ]
    assert [s["alerts"] for s in chain["timeline"]] == [20, 12, 10, 10]
    assert [t["id"] for t in chain["techniques"]] == ["T1021", "T1041", "T1110", "T1486"]
    assert chain["first_seen"] == "2024-03-11T18:00:00.000Z"
    actors = {h["ip"]: h for h in chain["hosts"]["actors"]}
    assert actors[FOOTHOLD] == {"ip": FOOTHOLD, "alerts": 32, "internal": True}
    assert actors[ATTACKERS[0]]["internal"] is False
    assert chain["hosts"]["destinations"] == 12 + 3
    assert len(chain["alert_ids"]) == 52
    assert chain["title"].startswith("brute_force → lateral_movement → exfiltration → ransomware")


def test_incidents_are_ranked_and_their_ids_stable(alerts) -> None:
    first = find_incidents(alerts)
    again = find_incidents(list(reversed(alerts)))
    assert [i.id for i in first.incidents] == [i.id for i in again.incidents]
    assert [i.rank for i in first.incidents] == [1, 2, 3, 4]
    risks = [i.risk for i in first.incidents]
    assert risks == sorted(risks, reverse=True)
    assert first.incidents[0].id == incident_id(first.incidents[0].alerts)
    assert len({i.id for i in first.incidents}) == 4


def test_risk_ranks_a_wide_kill_chain_above_a_single_stage(tmp_path) -> None:
    rows = iter(range(1, 1000))
    lines = kill_chain("office", 0, rows)
    lines += [
        ecs_alert(900 + k, "198.18.5.5", "10.1.0.99", "recon", score=0.9, row=next(rows))
        for k in range(12)
    ]
    write_lines(tmp_path / "a.jsonl", lines)
    ranked = find_incidents(read_alerts([tmp_path / "a.jsonl"]), min_alerts=10).incidents
    assert [len(i.alerts) for i in ranked] == [52, 12]
    assert ranked[0].severity == "critical" and ranked[1].risk < ranked[0].risk


def test_a_longer_gap_joins_the_return_three_days_later(alerts) -> None:
    office = [i for i in find_incidents(alerts, gap=4 * 24 * 3600).incidents if i.org == "office"]
    # the chain and its return share their actors: one incident; the flood shares no host
    assert sorted(len(i.alerts) for i in office) == [30, 104]

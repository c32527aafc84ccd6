"""Incidents: correlated alerts summarized as an analyst reads them (timeline of stages, hosts,
ATT&CK techniques and kill-chain stages, first and last seen, counts) and ranked by risk.

Times are the alerts' own (their flows'): an alert of unknown time (``Alert.timed`` false) is
counted (``untimed_alerts``) but never dates an incident or a stage, nor orders its families;
an incident of such alerts only has no first or last seen (null)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fedsec.forensics.alerts import NO_ORG, Alert, iso
from fedsec.forensics.attack import ATTACK_URL, stage_order
from fedsec.forensics.grouping import (
    DEFAULT_GAP_S,
    DEFAULT_MIN_ALERTS,
    DEFAULT_MIN_SUPPORT,
    correlate,
    support,
)
from fedsec.forensics.hosts import Networks

TOP_HOSTS = 10
#: Severity names from an incident's risk score (0-100), highest first.
SEVERITIES: tuple[tuple[float, str], ...] = ((90, "critical"), (70, "high"), (40, "medium"))


@dataclass
class Incident:
    """One group of correlated alerts of one organization, in time order."""

    alerts: list[Alert]
    id: str = ""
    risk: float = 0.0
    severity: str = "low"
    rank: int = 0
    stages: list[str] = field(default_factory=list)  # tactics in kill-chain order

    @property
    def org(self) -> str:
        return self.alerts[0].org

    @property
    def timed(self) -> list[Alert]:
        """The alerts whose time is their flow's (first in ``alerts``)."""
        return [a for a in self.alerts if a.timed]

    @property
    def first_seen(self) -> float | None:
        return self.alerts[0].time if self.alerts[0].timed else None

    @property
    def last_seen(self) -> float | None:
        timed = self.timed
        return timed[-1].time if timed else None


@dataclass
class Findings:
    """What correlation found: the incidents, ranked, the alerts left as isolated noise, and
    how many alerts were dropped as duplicates of an earlier one."""

    incidents: list[Incident]
    isolated: list[Incident]
    settings: dict
    duplicates: int = 0


def distinct_alerts(alerts: Sequence[Alert]) -> tuple[list[Alert], int]:
    """The alerts without repeats, each at its first occurrence, and how many were dropped. An
    alert is identified as :func:`incident_id` identifies it: its organization and event id
    (a flat alert's: the hash of its content, :func:`~fedsec.forensics.alerts.flat_id`). One
    alert of one run written in two formats (ECS and flat lines) has two ids: it is also the
    same alert where both name the same data row of the same file, family, score and time,
    and the same organization (a flat line names none: any); the one kept is the one saying
    more (an organization, techniques)."""
    seen: set[tuple[str, str]] = set()
    places: dict[tuple, list[int]] = {}  # an alert's place -> indexes into kept
    kept: list[Alert] = []
    for alert in alerts:
        key = (alert.org, alert.event_id)
        if key in seen:
            continue
        seen.add(key)
        place = _place(alert)
        same = [i for i in places.get(place, []) if _same_org(kept[i].org, alert.org)]
        if place is not None and same:
            if _says_more(alert, kept[same[0]]):
                kept[same[0]] = alert
            continue
        if place is not None:
            places.setdefault(place, []).append(len(kept))
        kept.append(alert)
    return kept, len(alerts) - len(kept)


def _place(alert: Alert) -> tuple | None:
    """What one detection of one flow is, whatever format wrote it (None: no data row)."""
    if not alert.file or alert.row is None:
        return None
    return (alert.file, alert.row, alert.family, alert.score, alert.time, alert.timed)


def _same_org(kept: str, other: str) -> bool:
    return kept == other or NO_ORG in (kept, other)


def _says_more(alert: Alert, than: Alert) -> bool:
    def said(a: Alert) -> tuple[bool, bool, bool]:
        return a.org != NO_ORG, bool(a.techniques), a.destination_ip is not None

    return said(alert) > said(than)


def incident_id(alerts: Sequence[Alert]) -> str:
    """Stable: the same alerts (by event id and organization) give the same id."""
    digest = hashlib.sha256()
    for key in sorted(f"{a.org}\x1f{a.event_id}" for a in alerts):
        digest.update(key.encode() + b"\x1e")
    return "inc-" + digest.hexdigest()[:16]


def main_families(alerts: Sequence[Alert]) -> list[str]:
    """Families of at least 2 alerts and 1% of them (a lone misfamilied alert is not a stage),
    in the order they first appeared."""
    counts = Counter(a.family for a in alerts)
    floor = max(2.0, 0.01 * len(alerts)) if len(alerts) >= 2 else 1
    return [f for f in dict.fromkeys(a.family for a in alerts) if counts[f] >= floor]


def family_chain(alerts: Sequence[Alert]) -> str:
    """The main families, ``→`` between them when all alerts have their time (the order they
    came in), else ``,`` (the order is not known)."""
    separator = " → " if all(a.timed for a in alerts) else ", "
    return separator.join(main_families(alerts))


def kill_chain(alerts: Sequence[Alert]) -> list[str]:
    """The tactics of the incident's main families, in kill-chain order."""
    main = set(main_families(alerts))
    tactics = {t for a in alerts if a.family in main for t in a.tactics}
    return sorted(tactics, key=lambda t: (stage_order(t), t))


def severity_of(risk: float) -> str:
    return next((name for floor, name in SEVERITIES if risk >= floor), "low")


def risk_of(alerts: Sequence[Alert], stages: int) -> float:
    """The alerts' 90th-percentile risk, raised by the kill chain's breadth (+5 per stage beyond
    the first) and the evidence (+2.5 per tenfold alerts), at most 100."""
    base = float(np.percentile([a.risk for a in alerts], 90))
    bonus = 5.0 * max(stages - 1, 0) + 2.5 * math.log10(len(alerts))
    return round(min(100.0, base + bonus), 2)


def build(alerts: Sequence[Alert], group: Sequence[int]) -> Incident:
    members = sorted((alerts[i] for i in group), key=lambda a: (not a.timed, a.time, a.event_id))
    stages = kill_chain(members)
    risk = risk_of(members, len(stages))
    return Incident(members, incident_id(members), risk, severity_of(risk), stages=stages)


def find_incidents(
    alerts: Sequence[Alert],
    *,
    gap: float = DEFAULT_GAP_S,
    min_alerts: int = DEFAULT_MIN_ALERTS,
    min_support: int = DEFAULT_MIN_SUPPORT,
    shared: frozenset[str] = frozenset(),
) -> Findings:
    """Correlate ``alerts`` into incidents ranked by risk; a group is raised as an incident when
    it holds ``min_alerts`` alerts and one family holds ``min_support`` of them (at most
    ``min_alerts``) on one host or in one burst (:func:`support`), else its alerts are kept
    apart as isolated alerts (listed, not raised). No link or support goes through a
    ``shared`` address (:func:`~fedsec.forensics.grouping.linkable`). An alert read twice (the
    same file given twice, overlapping exports) counts once."""
    alerts, duplicates = distinct_alerts(alerts)
    groups = [build(alerts, g) for g in correlate(alerts, gap, shared=shared)]
    floor = min(min_support, min_alerts)
    raised = {
        id(g)
        for g in groups
        if len(g.alerts) >= min_alerts and support(g.alerts, shared=shared) >= floor
    }
    incidents = [g for g in groups if id(g) in raised]
    incidents.sort(key=lambda i: (-i.risk, -len(i.alerts), _or_last(i.first_seen), i.id))
    for rank, incident in enumerate(incidents, 1):
        incident.rank = rank
    isolated = [g for g in groups if id(g) not in raised]
    settings = {"gap_s": gap, "min_alerts": min_alerts, "min_support": min_support}
    if shared:
        settings["shared_addresses"] = sorted(shared)
    return Findings(incidents, isolated, settings, duplicates)


def _or_last(seconds: float | None) -> float:
    return math.inf if seconds is None else seconds


def seen(seconds: float | None) -> str | None:
    """ISO-8601 of a first or last seen; None when unknown."""
    return None if seconds is None else iso(seconds)


def duplicates_note(summary: dict) -> str:
    """``; N duplicate alert(s) dropped`` when the summary's alerts were read more than once."""
    count = summary.get("duplicate_alerts", 0)
    return f"; {count} duplicate alert{'s' if count != 1 else ''} dropped" if count else ""


def _hosts(addresses: Sequence[str | None], networks: Networks) -> list[dict]:
    """The most alerted hosts, each by its ``ip`` address or, named by one, its ``host`` name."""
    counts = Counter(a for a in addresses if a is not None)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_HOSTS]
    return [_host(address, n, networks) for address, n in ranked]


def host_label(host: dict) -> str:
    """A :func:`_hosts` entry's address: its IP address or its host name."""
    return host["ip"] if "ip" in host else host["host"]


def _host(address: str, alerts: int, networks: Networks) -> dict:
    """An IP address, ``internal`` when in the organization's ranges; or a host name,
    ``internal`` when one of its names (one label, under ``--internal-domain`` or a special-use
    domain: what the STIX export keeps in)."""
    internal = networks.is_internal(address)
    if internal is None:
        return {"host": address, "alerts": alerts, "internal": networks.is_internal_name(address)}
    return {"ip": address, "alerts": alerts, "internal": internal}


def _stage(family: str, alerts: list[Alert]) -> dict:
    techniques = {t.id: t.name for a in alerts for t in a.techniques}
    timed = [a for a in alerts if a.timed]
    return {
        "family": family,
        "tactics": kill_chain(alerts),
        "techniques": [{"id": k, "name": v} for k, v in sorted(techniques.items())],
        "first_seen": seen(timed[0].time if timed else None),
        "last_seen": seen(timed[-1].time if timed else None),
        "alerts": len(alerts),
        "untimed_alerts": len(alerts) - len(timed),
        "sources": len({a.source for a in alerts if a.source}),
        "destinations": len({a.destination for a in alerts if a.destination}),
        "destination_ports": [
            port
            for port, _ in Counter(
                a.destination_port for a in alerts if a.destination_port is not None
            ).most_common(5)
        ],
    }


def timeline(incident: Incident) -> list[dict]:
    """One entry per family, in the order the family first appeared."""
    by_family: dict[str, list[Alert]] = {}
    for alert in incident.alerts:
        by_family.setdefault(alert.family, []).append(alert)
    return [_stage(family, members) for family, members in by_family.items()]


def techniques_of(alerts: Sequence[Alert]) -> list[dict]:
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for alert in alerts:
        for technique in alert.techniques:
            counts[technique.id] += 1
            names[technique.id] = technique.name
    return [
        {"id": t, "name": names[t], "alerts": n, "url": ATTACK_URL.format(t.replace(".", "/"))}
        for t, n in sorted(counts.items())
    ]


def title(incident: Incident, networks: Networks) -> str:
    families = family_chain(incident.alerts)
    actors = _hosts([a.source for a in incident.alerts], networks)
    targets = {a.destination for a in incident.alerts if a.destination}
    actor = f" from {host_label(actors[0])}" if actors else ""
    return f"{families}{actor} against {len(targets)} host(s)" if targets else families + actor


def to_json(incident: Incident, networks: Networks) -> dict:
    """The incident as its JSON record."""
    alerts = incident.alerts
    scores = np.asarray([a.score for a in alerts])
    record = {
        "id": incident.id,
        "rank": incident.rank,
        "organization": incident.org,
        "title": title(incident, networks),
        "severity": incident.severity,
        "risk_score": incident.risk,
        "first_seen": seen(incident.first_seen),
        "last_seen": seen(incident.last_seen),
        "duration_s": _duration(incident),
        "alerts": len(alerts),
        "untimed_alerts": len(alerts) - len(incident.timed),
        "families": dict(Counter(a.family for a in alerts).most_common()),
        "kill_chain": incident.stages,
        "techniques": techniques_of(alerts),
        "timeline": timeline(incident),
        "hosts": {
            "actors": _hosts([a.source for a in alerts], networks),
            "targets": _hosts([a.destination for a in alerts], networks),
            "sources": len({a.source for a in alerts if a.source}),
            "destinations": len({a.destination for a in alerts if a.destination}),
        },
        "score": {"max": round(float(scores.max()), 6), "mean": round(float(scores.mean()), 6)},
        "files": dict(Counter(a.file for a in alerts if a.file).most_common()),
        "alert_ids": [a.event_id for a in alerts],
    }
    labels = Counter(a.dataset_label for a in alerts if a.dataset_label is not None)
    if labels:
        record["dataset_labels"] = dict(labels.most_common())
    return record


def _duration(incident: Incident) -> float | None:
    first, last = incident.first_seen, incident.last_seen
    return None if first is None or last is None else round(last - first, 3)


def findings_json(findings: Findings, networks: Networks) -> dict:
    """The whole result: settings, incidents ranked, and a summary of isolated alerts (the
    summary's ``alerts`` count each alert once; ``duplicate_alerts``: the repeats dropped)."""
    isolated = [a for group in findings.isolated for a in group.alerts]
    return {
        "settings": {
            **findings.settings,
            "internal_networks": list(networks.cidrs),
            "internal_domains": list(networks.names),
        },
        "summary": {
            "alerts": sum(len(i.alerts) for i in findings.incidents) + len(isolated),
            "incidents": len(findings.incidents),
            "by_severity": dict(Counter(i.severity for i in findings.incidents)),
            "isolated_alerts": len(isolated),
            "duplicate_alerts": findings.duplicates,
        },
        "incidents": [to_json(i, networks) for i in findings.incidents],
        "isolated": {
            "alerts": len(isolated),
            "groups": len(findings.isolated),
            "families": dict(Counter(a.family for a in isolated).most_common()),
            "alert_ids": [a.event_id for a in isolated],
        },
    }

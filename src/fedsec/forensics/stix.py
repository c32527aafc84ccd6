"""Threat-intel export: incidents as a STIX 2.1 bundle, built and checked by the ``stix2``
library (OASIS's Python API: every object is validated as it is made, and the bundle is parsed
back before it is written).

What leaves the organization is only what this module puts in the bundle, and only when the
user exports it: the reporting organization's name (an identity), a TLP marking on every object,
per incident an ``incident`` and a ``grouping``, the ATT&CK techniques seen (``attack-pattern``
with its ATT&CK external reference and kill-chain phase) and, for each address *outside* the
organization's networks on the adversary's side (the sources of attacks; the destinations of
traffic towards the adversary: C2 servers, drop sites), and each host name the alerts give in
place of an address outside the organization's domains (``domain-name``), an ``indicator`` and
a ``sighting`` by the organization (first/last seen, count). Internal addresses and names,
file names, rows, alert ids and model details never do.

Ids are UUIDv5 of what the object describes and of its TLP marking, so the same incidents at
the same TLP give the same bundle and a recipient can de-duplicate repeated exports, while an
export at another TLP is other objects (a marking is part of an object: one id and
``modified`` with two markings would be two contents of one version). An id never comes with
two ``created`` (STIX 2.1 §3.2: ``created`` does not change between versions of one object), so
``created`` is derived from what the id is:

- objects named only by what they describe (the organization's identity, an ATT&CK technique,
  an address's indicator and the technique it indicates) have no time of their own: their
  ``created`` is the Unix epoch, :data:`TIMELESS`. When the address was seen is in the
  indicator's ``valid_from`` and its ``modified`` (the last time seen: a later export carrying
  later alerts is a newer version);
- an incident's id hashes its alerts (:func:`~fedsec.forensics.incidents.incident_id`), so its
  objects (the incident, its grouping, sightings and relationships) are created at its alerts'
  last time of their own. An incident that grows between exports is a new incident (a new id),
  not a new version of the old one: what it holds changed, and an id that stayed would claim
  the first export's alerts were all there was.

Alerts without a time of their own (``Alert.timed`` false) date nothing: a sighting of only
such alerts has no first or last seen.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict

import stix2

from fedsec.forensics.alerts import Alert, iso
from fedsec.forensics.attack import ATTACK_URL
from fedsec.forensics.hosts import Networks, canonical_address
from fedsec.forensics.incidents import Findings, Incident, family_chain

#: ``created`` (and ``modified``) of objects that have no time of their own.
TIMELESS = "1970-01-01T00:00:00.000Z"
NAMESPACE = uuid.UUID("5b0e0f1c-6a55-4d4a-9bb1-fed5ec000017")
TLP = {
    "white": stix2.TLP_WHITE,
    "clear": stix2.TLP_WHITE,  # TLP 2.0's CLEAR is 1.0's WHITE
    "green": stix2.TLP_GREEN,
    "amber": stix2.TLP_AMBER,
    "red": stix2.TLP_RED,
}
MAX_INDICATORS = 100  # external addresses per incident, most alerts first
PHASES = "mitre-attack"
#: Families whose traffic goes *to* the adversary (a bot to its controller, malware beaconing,
#: data sent out): their destination is adversary infrastructure. In every other family the
#: destination is the target, and an outside target (a server an infected host floods or
#: scans) is a victim, not an indicator.
TOWARDS_ADVERSARY = frozenset({"botnet", "malware", "ransomware", "exfiltration", "backdoor"})


def stix_id(kind: str, *key: str) -> str:
    name = "\x1f".join((kind, *key))
    return f"{kind}--{uuid.uuid5(NAMESPACE, name)}"


def _phases(tactics: list[str] | tuple[str, ...]) -> list[stix2.KillChainPhase]:
    return [stix2.KillChainPhase(kill_chain_name=PHASES, phase_name=t) for t in tactics]


class Exporter:
    """Collects the STIX objects of several incidents, each shared object once."""

    def __init__(self, org: str, tlp: str, networks: Networks) -> None:
        self.marking = TLP[tlp]
        self.networks = networks
        #: Every alert of each address over all incidents: its indicator is one object, valid
        #: from the address's first alert, whichever incident is exported first.
        self.seen: dict[str, list[Alert]] = defaultdict(list)
        #: Each incident's outside addresses on the adversary's side, found once (``gather``).
        self.outside: dict[str, list[tuple[str, list[Alert]]]] = {}
        self.identity = stix2.Identity(
            id=stix_id("identity", org, self.marking.id),
            name=org,
            identity_class="organization",
            created=TIMELESS,
            modified=TIMELESS,
            object_marking_refs=[self.marking],
        )
        self.objects: dict[str, object] = {self.identity.id: self.identity}

    def common(self, created: str, modified: str | None = None) -> dict:
        """The properties every object shares (``modified``: ``created`` unless given)."""
        return {
            "created_by_ref": self.identity.id,
            "created": created,
            "modified": modified or created,
            "object_marking_refs": [self.marking],
        }

    def object_id(self, kind: str, *key: str) -> str:
        """The id of the ``kind`` object described by ``key`` under this export's marking."""
        return stix_id(kind, *key, self.marking.id)

    def keep(self, obj: object) -> str:
        self.objects.setdefault(obj.id, obj)  # type: ignore[attr-defined]
        return obj.id  # type: ignore[attr-defined]

    def attack_pattern(self, technique_id: str, name: str, tactics: list[str]) -> str:
        return self.keep(
            stix2.AttackPattern(
                id=self.object_id("attack-pattern", technique_id),
                name=name or technique_id,
                external_references=[
                    {
                        "source_name": "mitre-attack",
                        "external_id": technique_id,
                        "url": ATTACK_URL.format(technique_id.replace(".", "/")),
                    }
                ],
                kill_chain_phases=_phases(tactics),
                **self.common(TIMELESS),
            )
        )

    def gather(self, incidents: list[Incident]) -> None:
        """Note every incident's outside addresses before any indicator is made."""
        for incident in incidents:
            self.outside[incident.id] = self.external(incident)
            for address, alerts in self.outside[incident.id]:
                self.seen[address] += alerts

    def indicator(self, incident: Incident, address: str, alerts: list[Alert]) -> list[str]:
        """The indicator of ``address`` (over all incidents) and its sighting by the
        organization in ``incident``."""
        kind = observable_kind(address)
        every = self.seen[address]
        families = sorted({a.family for a in every})
        tactics = sorted({t for a in every for t in a.tactics})
        dated = [a.time for a in every if a.timed] or [a.time for a in every]  # detected then
        since, until = iso(min(dated)), iso(max(dated))
        timed = [a.time for a in alerts if a.timed]
        seen = {"first_seen": iso(min(timed)), "last_seen": iso(max(timed))} if timed else {}
        indicator = stix2.Indicator(
            id=self.indicator_id(kind, address, since, families, tactics),
            name=f"{address}: {', '.join(families)}",
            pattern=f"[{kind}:value = '{address}']",
            pattern_type="stix",
            valid_from=since,
            indicator_types=["malicious-activity"],
            kill_chain_phases=_phases(tactics),
            **self.common(TIMELESS, until),
        )
        sighting = stix2.Sighting(
            id=self.object_id("sighting", incident.id, address),
            sighting_of_ref=indicator.id,
            where_sighted_refs=[self.identity.id],
            count=len(alerts),
            **seen,  # last_seen may equal first_seen (§7.3: "greater than or equal")
            **self.common(created_of(incident)),
        )
        return [self.keep(indicator), self.keep(sighting)]

    def indicator_id(
        self, kind: str, address: str, since: str, families: list[str], tactics: list[str]
    ) -> str:
        """An indicator's id: its address and all it says but ``modified`` (valid from, name,
        phases, author, marking), so two exports giving one id and ``modified`` give one
        object (STIX 2.1 §3.2); an export of more alerts after the same first gives a new
        version (a later ``modified``) of the same indicator."""
        said = (since, ",".join(families), ",".join(tactics), self.identity.id, self.marking.id)
        return stix_id("indicator", kind, address, *said)

    def relate(self, source: str, kind: str, target: str, at: str) -> str:
        return self.keep(
            stix2.Relationship(
                id=self.object_id("relationship", source, kind, target),
                source_ref=source,
                relationship_type=kind,
                target_ref=target,
                **self.common(at),
            )
        )

    def add(self, incident: Incident, record: dict) -> None:
        """The objects of one incident (``record``: its JSON), once :meth:`gather` has seen it."""
        at = created_of(incident)
        refs = [
            self.attack_pattern(t["id"], t["name"], _tactics_of(incident, t["id"]))
            for t in record["techniques"]
        ]
        entity = stix2.Incident(
            id=self.object_id("incident", incident.id),
            name=family_chain(incident.alerts),  # the title names hosts: not here
            description=(
                f"{_when(record)}; "
                f"severity {record['severity']} (risk {record['risk_score']}); kill chain: "
                f"{' → '.join(record['kill_chain']) or 'unknown'}"
            ),
            kill_chain_phases=_phases(record["kill_chain"]),
            labels=[record["severity"], *record["families"]],
            **self.common(at),
        )
        refs = [self.keep(entity), *(self.relate(entity.id, "uses", r, at) for r in refs), *refs]
        for address, alerts in self.outside[incident.id][:MAX_INDICATORS]:
            indicator, sighting = self.indicator(incident, address, alerts)
            refs += [indicator, sighting, self.relate(indicator, "related-to", entity.id, at)]
            for technique in sorted({t.id for a in alerts for t in a.techniques}):
                pattern = self.object_id("attack-pattern", technique)
                refs.append(self.relate(indicator, "indicates", pattern, TIMELESS))
        self.keep(
            stix2.Grouping(
                id=self.object_id("grouping", incident.id),
                name=f"fedsec incident {incident.id}",
                context="suspicious-activity",
                object_refs=sorted(set(refs)),
                **self.common(at),
            )
        )

    def external(self, incident: Incident) -> list[tuple[str, list[Alert]]]:
        """The adversary's addresses outside the organization's networks, and host names
        outside its domains (every alert's source; the destination in the families of
        :data:`TOWARDS_ADVERSARY`), with their alerts, most first. An IPv4-mapped IPv6 address
        is its IPv4 address; a name is in lower case."""
        seen: dict[str, list[Alert]] = defaultdict(list)
        for alert in incident.alerts:
            sides = {self.outside_host(alert.source_ip, alert.source_name)}
            if alert.family in TOWARDS_ADVERSARY:
                sides.add(self.outside_host(alert.destination_ip, alert.destination_name))
            for host in sides - {None}:
                seen[host].append(alert)  # type: ignore[index]
        return sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def outside_host(self, address: str | None, name: str | None) -> str | None:
        """An alert side's IP address outside the organization's networks, else its host name
        (it has no address) outside the organization's domains; None if internal or none."""
        if address is not None:
            ip = canonical_address(address)
            outside = ip is not None and self.networks.is_internal(str(ip)) is False
            return str(ip) if outside else None
        if name is None or self.networks.is_internal_name(name):
            return None
        return name.lower().removesuffix(".")

    def bundle(self) -> stix2.Bundle:
        objects = [self.objects[k] for k in sorted(self.objects)]
        objects.append(self.marking)
        return stix2.Bundle(
            id=stix_id("bundle", *sorted(self.objects)), objects=objects, allow_custom=False
        )


def observable_kind(host: str) -> str:
    """The STIX observable ``host`` is: ``ipv4-addr``, ``ipv6-addr`` or (a host name)
    ``domain-name``."""
    ip = canonical_address(host)
    if ip is None:
        return "domain-name"
    return "ipv6-addr" if ip.version == 6 else "ipv4-addr"


def created_of(incident: Incident) -> str:
    """When an incident's STIX objects were created: its alerts' last time of their own (what
    its id is made of fixes it), the epoch when none has one."""
    last = incident.last_seen
    return TIMELESS if last is None else iso(last)


def _when(record: dict) -> str:
    """``N alerts from .. to ..``, saying how many have no time of their own."""
    untimed = record.get("untimed_alerts", 0)
    span = f"from {record['first_seen']} to {record['last_seen']}" if record["first_seen"] else ""
    unknown = f" ({untimed} of unknown time)" if untimed else ""
    return " ".join(filter(None, [f"{record['alerts']} alerts{unknown}", span]))


def _tactics_of(incident: Incident, technique_id: str) -> list[str]:
    return sorted(
        {
            t
            for a in incident.alerts
            if any(x.id == technique_id for x in a.techniques)
            for t in a.tactics
        }
    )


def export_stix(findings: Findings, document: dict, org: str, tlp: str, networks: Networks) -> str:
    """The STIX 2.1 bundle of ``findings`` (``document``: their JSON) as JSON text, reported by
    ``org`` under TLP ``tlp``; parsed back by ``stix2`` before it is returned."""
    exporter = Exporter(org, tlp, networks)
    exporter.gather(findings.incidents)
    for record, incident in zip(document["incidents"], findings.incidents, strict=True):
        exporter.add(incident, record)
    text = exporter.bundle().serialize(pretty=True, sort_keys=True)
    stix2.parse(json.loads(text), allow_custom=False)  # the library's own checks, once more
    return text + "\n"

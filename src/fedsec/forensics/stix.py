"""Threat-intel export: incidents as a STIX 2.1 bundle, built and checked by the ``stix2``
library (OASIS's Python API: every object is validated as it is made, and the bundle is parsed
back before it is written).

What leaves the organization is only what this module puts in the bundle, and only when the
user exports it: the reporting organization's name (an identity), a TLP marking on every object,
per incident an ``incident`` and a ``grouping``, the ATT&CK techniques seen (``attack-pattern``
with its ATT&CK external reference and kill-chain phase) and, for each address *outside* the
organization's networks on the adversary's side (the sources of attacks; the destinations of
traffic towards the adversary: C2 servers, drop sites), an ``indicator`` and a ``sighting`` by
the organization (first/last seen, count). Internal addresses, file names, rows,
alert ids and model details never do.

Ids are UUIDv5 of what the object describes, so the same incidents give the same bundle and a
recipient can de-duplicate repeated exports.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections import defaultdict

import stix2

from fedsec.forensics.alerts import Alert, iso
from fedsec.forensics.attack import ATTACK_URL
from fedsec.forensics.hosts import Networks, canonical_address
from fedsec.forensics.incidents import Findings, Incident, main_families

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

    def __init__(self, org: str, tlp: str, networks: Networks, created: str) -> None:
        self.marking = TLP[tlp]
        self.networks = networks
        #: Every alert of each address over all incidents: its indicator is one object, valid
        #: from the address's first alert, whichever incident is exported first.
        self.seen: dict[str, list[Alert]] = defaultdict(list)
        #: Each incident's outside addresses on the adversary's side, found once (``gather``).
        self.outside: dict[str, list[tuple[str, list[Alert]]]] = {}
        self.identity = stix2.Identity(
            id=stix_id("identity", org),
            name=org,
            identity_class="organization",
            created=created,
            modified=created,
            object_marking_refs=[self.marking],
        )
        self.objects: dict[str, object] = {self.identity.id: self.identity}

    def common(self, created: str) -> dict:
        return {
            "created_by_ref": self.identity.id,
            "created": created,
            "modified": created,
            "object_marking_refs": [self.marking],
        }

    def keep(self, obj: object) -> str:
        self.objects.setdefault(obj.id, obj)  # type: ignore[attr-defined]
        return obj.id  # type: ignore[attr-defined]

    def attack_pattern(self, technique_id: str, name: str, tactics: list[str], at: str) -> str:
        return self.keep(
            stix2.AttackPattern(
                id=stix_id("attack-pattern", technique_id),
                name=name or technique_id,
                external_references=[
                    {
                        "source_name": "mitre-attack",
                        "external_id": technique_id,
                        "url": ATTACK_URL.format(technique_id.replace(".", "/")),
                    }
                ],
                kill_chain_phases=_phases(tactics),
                **self.common(at),
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
        kind = "ipv6-addr" if ipaddress.ip_address(address).version == 6 else "ipv4-addr"
        every = self.seen[address]
        families = sorted({a.family for a in every})
        tactics = sorted({t for a in every for t in a.tactics})
        since = iso(min(a.time for a in every))
        first, last = iso(alerts[0].time), iso(alerts[-1].time)
        indicator = stix2.Indicator(
            id=stix_id("indicator", kind, address),
            name=f"{address}: {', '.join(families)}",
            pattern=f"[{kind}:value = '{address}']",
            pattern_type="stix",
            valid_from=since,
            indicator_types=["malicious-activity"],
            kill_chain_phases=_phases(tactics),
            **self.common(since),
        )
        sighting = stix2.Sighting(
            id=stix_id("sighting", incident.id, address),
            sighting_of_ref=indicator.id,
            where_sighted_refs=[self.identity.id],
            first_seen=first,
            last_seen=iso(alerts[-1].time + 0.001),
            count=len(alerts),
            **self.common(last),
        )
        return [self.keep(indicator), self.keep(sighting)]

    def relate(self, source: str, kind: str, target: str, at: str) -> str:
        return self.keep(
            stix2.Relationship(
                id=stix_id("relationship", source, kind, target),
                source_ref=source,
                relationship_type=kind,
                target_ref=target,
                **self.common(at),
            )
        )

    def add(self, incident: Incident, record: dict) -> None:
        """The objects of one incident (``record``: its JSON), once :meth:`gather` has seen it."""
        at = record["last_seen"]
        refs = [
            self.attack_pattern(t["id"], t["name"], _tactics_of(incident, t["id"]), at)
            for t in record["techniques"]
        ]
        entity = stix2.Incident(
            id=stix_id("incident", incident.id),
            name=" → ".join(main_families(incident.alerts)),  # the title names hosts: not here
            description=(
                f"{record['alerts']} alerts from {record['first_seen']} to {record['last_seen']}; "
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
                refs.append(
                    self.relate(indicator, "indicates", stix_id("attack-pattern", technique), at)
                )
        self.keep(
            stix2.Grouping(
                id=stix_id("grouping", incident.id),
                name=f"fedsec incident {incident.id}",
                context="suspicious-activity",
                object_refs=sorted(set(refs)),
                **self.common(at),
            )
        )

    def external(self, incident: Incident) -> list[tuple[str, list[Alert]]]:
        """The adversary's addresses outside the organization's networks (every alert's source;
        the destination in the families of :data:`TOWARDS_ADVERSARY`), with their alerts, most
        first. An IPv4-mapped IPv6 address is its IPv4 address."""
        seen: dict[str, list[Alert]] = defaultdict(list)
        for alert in incident.alerts:
            sides = {alert.source_ip}
            if alert.family in TOWARDS_ADVERSARY:
                sides.add(alert.destination_ip)
            for address in sides:
                ip = canonical_address(address) if address is not None else None
                if ip is not None and self.networks.is_internal(str(ip)) is False:
                    seen[str(ip)].append(alert)
        return sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def bundle(self) -> stix2.Bundle:
        objects = [self.objects[k] for k in sorted(self.objects)]
        objects.append(self.marking)
        return stix2.Bundle(
            id=stix_id("bundle", *sorted(self.objects)), objects=objects, allow_custom=False
        )


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
    first = min((i.first_seen for i in findings.incidents), default=0.0)
    exporter = Exporter(org, tlp, networks, iso(first))
    exporter.gather(findings.incidents)
    for record, incident in zip(document["incidents"], findings.incidents, strict=True):
        exporter.add(incident, record)
    text = exporter.bundle().serialize(pretty=True, sort_keys=True)
    stix2.parse(json.loads(text), allow_custom=False)  # the library's own checks, once more
    return text + "\n"

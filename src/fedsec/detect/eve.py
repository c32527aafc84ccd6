"""Alerts as Suricata EVE ``alert`` events, for tools that read Suricata's output (``event_type``
``alert``, ``src_ip``/``dest_ip``, an ``alert`` object with signature id, category, severity
1 = high .. 3 = low and ATT&CK metadata), built from the ECS document so both say the same.
``src_ip``/``dest_ip`` are IP addresses only: a side the flow named by a host name keeps it in
``fedsec.src_host``/``fedsec.dest_host``."""

from __future__ import annotations

from fedsec.data.taxonomy import FAMILIES
from fedsec.detect import attack

#: fedsec's signature ids: one per family (stable: the family's place in the taxonomy), in a
#: range of its own (Suricata's local-rule range starts at 1,000,000).
SID_BASE = 9_700_000
OTHER_SIDS = {"anomaly": SID_BASE + 900, "anomalous session": SID_BASE + 901}
#: ECS severity level (1 low .. 4 critical) -> Suricata severity (1 high .. 3 low).
SURICATA_SEVERITY = {1: 3, 2: 2, 3: 1, 4: 1}
#: ``flow_id``: the event id's first 12 hex digits as a number (48 bits, as Suricata's own
#: are; exact in a double, so JavaScript and JSON tools that read numbers as doubles keep it).
FLOW_ID_DIGITS = 12


def flow_id(event_id: str) -> int:
    """The alert's EVE ``flow_id`` (Suricata writes one on every alert; pipelines join on it):
    stable, from its event id."""
    return int(event_id[:FLOW_ID_DIGITS], 16)


def signature_id(family: str) -> int:
    if family in OTHER_SIDS:
        return OTHER_SIDS[family]
    return SID_BASE + (FAMILIES.index(family) if family in FAMILIES else 899)


def eve_document(ecs: dict) -> dict:
    """The EVE ``alert`` event of one ECS alert document."""
    event, rule, custom = ecs["event"], ecs["rule"], ecs["fedsec"]
    eve: dict = {"timestamp": _eve_time(ecs["@timestamp"]), "flow_id": flow_id(event["id"])}
    eve["event_type"] = "alert"
    source, destination = ecs.get("source", {}), ecs.get("destination", {})
    for key, side, name in (
        ("src_ip", source, "ip"),
        ("src_port", source, "port"),
        ("dest_ip", destination, "ip"),
        ("dest_port", destination, "port"),
    ):
        if name in side:
            eve[key] = side[name]
    network = ecs.get("network", {})
    if "transport" in network:
        eve["proto"] = network["transport"].upper()
    if "protocol" in network:
        eve["app_proto"] = network["protocol"]
    if "community_id" in network:
        eve["community_id"] = network["community_id"]
    if "name" in ecs.get("observer", {}):
        eve["host"] = ecs["observer"]["name"]
    eve["alert"] = _alert(ecs, rule["name"], event["severity"])
    eve["fedsec"] = {"event_id": event["id"], "risk_score": event["risk_score"], **custom}
    if "log" in ecs:
        eve["fedsec"]["file"] = ecs["log"]["file"]["path"]
    if "organization" in ecs:  # EVE has no field for it: incidents group by organization
        eve["fedsec"]["organization"] = ecs["organization"]["name"]
    for key, side in (("src_host", source), ("dest_host", destination)):
        if "address" in side and "ip" not in side:  # a host name: src_ip/dest_ip are IPs only
            eve["fedsec"][key] = side["address"]
    return eve


def _alert(ecs: dict, family: str, severity: int) -> dict:
    alert = {
        "action": "allowed",
        "gid": 1,
        "signature_id": signature_id(family),
        "rev": 1,
        "signature": f"FEDSEC {family} (model {ecs['rule']['version'][:12]})",
        "category": _category(family),
        "severity": SURICATA_SEVERITY[severity],
    }
    threat = ecs.get("threat")
    if threat:
        alert["metadata"] = {
            "mitre_technique_id": threat["technique"]["id"],
            "mitre_technique_name": threat["technique"]["name"],
            "mitre_tactic_id": threat["tactic"]["id"],
            "mitre_tactic_name": threat["tactic"]["name"],
        }
    return alert


def _category(family: str) -> str:
    found = attack.techniques(family)
    return found[0].name if found else family


def _eve_time(iso: str) -> str:
    """``2017-07-07T18:56:33.850Z`` -> Suricata's ``2017-07-07T18:56:33.850000+0000``."""
    return iso.removesuffix("Z") + "000+0000"

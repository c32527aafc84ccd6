"""MITRE ATT&CK context of a family, for alerts that carry none (flat fedsec alerts), and the
order of ATT&CK tactics, read as the stages of a kill chain."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Technique:
    """An ATT&CK technique: its id (``T1046``, ``T1021.002``) and name."""

    id: str
    name: str


ATTACK_URL = "https://attack.mitre.org/techniques/{}/"

#: ATT&CK tactics in kill-chain order (Enterprise, then the ICS-only ones where they fall).
TACTIC_ORDER: tuple[str, ...] = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "inhibit-response-function",
    "impair-process-control",
    "impact",
)

#: family -> (technique id, technique name, tactic): the technique the family most often is.
FAMILY_ATTACK: dict[str, tuple[str, str, str]] = {
    "recon": ("T1046", "Network Service Discovery", "discovery"),
    "brute_force": ("T1110", "Brute Force", "credential-access"),
    "web_attack": ("T1190", "Exploit Public-Facing Application", "initial-access"),
    "exploit": ("T1190", "Exploit Public-Facing Application", "initial-access"),
    "injection": ("T1190", "Exploit Public-Facing Application", "initial-access"),
    "botnet": ("T1071", "Application Layer Protocol", "command-and-control"),
    "backdoor": ("T1071", "Application Layer Protocol", "command-and-control"),
    "lateral_movement": ("T1021", "Remote Services", "lateral-movement"),
    "exfiltration": ("T1041", "Exfiltration Over C2 Channel", "exfiltration"),
    "ddos": ("T1498", "Network Denial of Service", "impact"),
    "dos": ("T1499", "Endpoint Denial of Service", "impact"),
    "ransomware": ("T1486", "Data Encrypted for Impact", "impact"),
    "ics_attack": ("T0855", "Unauthorized Command Message", "impair-process-control"),
    "mitm": ("T1557", "Adversary-in-the-Middle", "credential-access"),
    "infiltration": ("T1133", "External Remote Services", "initial-access"),
    "malware": ("T1204", "User Execution", "execution"),
}

#: Tactics after which the target of an alert may act as the attacker (a foothold).
PIVOT_TACTICS: frozenset[str] = frozenset(
    {"initial-access", "credential-access", "execution", "lateral-movement"}
)


def family_techniques(family: str) -> tuple[tuple[Technique, ...], tuple[str, ...]]:
    """The techniques and tactics of ``family`` when its alert names none (unknown: none)."""
    if family not in FAMILY_ATTACK:
        return (), ()
    technique_id, name, tactic = FAMILY_ATTACK[family]
    return (Technique(technique_id, name),), (tactic,)


def stage_order(tactic: str) -> int:
    """Position of ``tactic`` in the kill chain (unknown tactics last)."""
    normal = tactic.strip().lower().replace(" ", "-")
    return TACTIC_ORDER.index(normal) if normal in TACTIC_ORDER else len(TACTIC_ORDER)


def normal_tactic(tactic: str) -> str:
    """ATT&CK tactic names as STIX kill-chain phases spell them (``Lateral Movement`` ->
    ``lateral-movement``)."""
    return tactic.strip().lower().replace(" ", "-")

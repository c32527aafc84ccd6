"""MITRE ATT&CK context of a family, for alerts that carry none (flat fedsec alerts), and the
order of ATT&CK tactics, read as the stages of a kill chain. Which techniques a family means
has one home, :mod:`fedsec.detect.attack`."""

from __future__ import annotations

from dataclasses import dataclass

from fedsec.detect import attack as attack_of_families


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

#: Tactics after which the target of an alert may act as the attacker (a foothold).
PIVOT_TACTICS: frozenset[str] = frozenset(
    {"initial-access", "credential-access", "execution", "lateral-movement"}
)


def family_techniques(family: str) -> tuple[tuple[Technique, ...], tuple[str, ...]]:
    """The techniques and tactics of ``family`` when its alert names none (unknown: none):
    those ``fedsec detect`` writes into its ECS and EVE alerts
    (:data:`fedsec.detect.attack.TECHNIQUES`), so a flat alert reads as they do."""
    found = attack_of_families.techniques(family)
    tactics = (normal_tactic(attack_of_families.TACTICS[t.tactic]) for t in found)
    return tuple(Technique(t.id, t.name) for t in found), tuple(dict.fromkeys(tactics))


def stage_order(tactic: str) -> int:
    """Position of ``tactic`` in the kill chain (unknown tactics last)."""
    normal = tactic.strip().lower().replace(" ", "-")
    return TACTIC_ORDER.index(normal) if normal in TACTIC_ORDER else len(TACTIC_ORDER)


def normal_tactic(tactic: str) -> str:
    """ATT&CK tactic names as STIX kill-chain phases spell them (``Lateral Movement`` ->
    ``lateral-movement``)."""
    return tactic.strip().lower().replace(" ", "-")

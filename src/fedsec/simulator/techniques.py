"""MITRE ATT&CK techniques the simulator plays, as flows: who talks to whom, how, how long.

Each technique has one or more flow :class:`~.shapes.Shape` variants, the endpoints it uses
(an external attacker, a botnet, the campaign's foothold inside the organization, its C2 server;
exposed hosts, file servers, controllers, any internal host), a typical stage length and a
relative volume. The family of each technique is :data:`fedsec.data.taxonomy.SIMULATOR`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fedsec.data.taxonomy import SIMULATOR
from fedsec.simulator.shapes import ANY_PORT, EPHEMERAL_PORT, REGISTERED_PORT, Shape, ln

#: Techniques that give the attacker a foothold: later stages start from inside.
INITIAL_ACCESS: frozenset[str] = frozenset({"T1110", "T1190"})


@dataclass(frozen=True)
class Technique:
    """How one ATT&CK technique shows up in flows."""

    id: str
    name: str
    tactic: str
    variants: tuple[tuple[Shape, float], ...]
    src: str  # attacker | botnet | foothold | engineering
    dst: str  # exposed | internal | fileserver | controller | c2
    hours: tuple[float, float]  # stage length range
    volume: float  # relative flow volume of one stage
    timing: str = "uniform"  # uniform | bursty | beacon
    ports_by_archetype: dict[str, tuple[tuple[int, float], ...]] = field(default_factory=dict)
    src_ports: tuple[int, ...] = ()  # fixed source ports (reflection floods)

    @property
    def family(self) -> str:
        return SIMULATOR[self.id]


# fmt: off
SCAN = Shape(
    "tcp",
    ((ANY_PORT, 0.5), (22, 0.06), (80, 0.06), (443, 0.06), (445, 0.06), (3389, 0.06),
     (21, 0.03), (23, 0.03), (25, 0.02), (502, 0.03), (102, 0.02), (8080, 0.03), (1433, 0.02),
     (3306, 0.01), (5900, 0.01)),
    ln(1, 0.1), ln(1, 0.1), ln(50, 0.1), ln(60, 0.3), ln(0.05, 1.0),
    (("S0", 0.55), ("REJ", 0.38), ("SF", 0.05), ("RSTO", 0.02)),
    syn_size=ln(44, 0.01),  # scanners' bare SYNs (MSS option only)
)
BRUTE = Shape(
    "tcp", ((3389, 0.8), (22, 0.2)),
    ln(14, 0.25), ln(1.1, 0.15), ln(110, 0.2), ln(150, 0.25), ln(2.5, 0.5),
    (("SF", 0.85), ("RSTO", 0.12), ("REJ", 0.03)),
)
WEB_EXPLOIT = Shape(
    "tcp", ((443, 0.5), (80, 0.4), (8080, 0.1)),
    ln(6, 0.4), ln(0.9, 0.3), ln(600, 0.35), ln(220, 0.4), ln(0.15, 0.8),
    (("SF", 0.85), ("RSTO", 0.15)),
)
BEACON = Shape(
    "tcp", ((443, 0.8), (80, 0.15), (8443, 0.05)),
    ln(7, 0.2), ln(0.9, 0.15), ln(190, 0.15), ln(160, 0.2), ln(1.5, 0.4),
    (("SF", 0.95), ("S1", 0.05)),
)
LATERAL = Shape(
    "tcp", ((445, 0.7), (3389, 0.2), (5985, 0.1)),
    ln(120, 0.8), ln(0.4, 0.3), ln(900, 0.3), ln(220, 0.4), ln(3.0, 0.8),
    (("SF", 0.78), ("REJ", 0.12), ("RSTO", 0.1)),
)
EXFIL = Shape(  # chunked uploads over the C2 channel
    "tcp", ((443, 0.9), (80, 0.1)),
    ln(800, 0.7), ln(0.45, 0.15), ln(1000, 0.08), ln(110, 0.1), ln(40, 0.6),
    (("SF", 0.9), ("S1", 0.1)),
)
UDP_FLOOD = Shape(
    "udp", ((EPHEMERAL_PORT, 0.5), (REGISTERED_PORT, 0.5)),
    ln(300, 1.0), ln(0.001, 0.1), ln(1200, 0.2), ln(60, 0.1), ln(5, 0.8),
)
SYN_FLOOD = Shape(  # bots re-sending SYNs from one source port: many SYNs per flow record
    "tcp", ((443, 0.6), (80, 0.4)),
    ln(40, 1.0), ln(1, 0.1), ln(60, 0.03), ln(40, 0.1), ln(3.0, 0.8), (("FLOOD", 1.0),),
    syn_size=ln(60, 0.03),
)
SLOWLORIS = Shape(
    "tcp", ((443, 0.5), (80, 0.5)),
    ln(25, 0.4), ln(0.3, 0.3), ln(90, 0.2), ln(60, 0.2), ln(200, 0.5),
    (("S1", 0.7), ("RSTO", 0.3)),
)
HTTP_FLOOD = Shape(
    "tcp", ((443, 0.5), (80, 0.5)),
    ln(5, 0.2), ln(1.2, 0.2), ln(220, 0.2), ln(1300, 0.1), ln(0.04, 0.5), (("SF", 1.0),),
)
ENCRYPT = Shape(
    "tcp", ((445, 1.0),),
    ln(600, 1.0), ln(1.0, 0.06), ln(1300, 0.08), ln(1300, 0.08), ln(4.0, 0.7),
    (("SF", 0.95), ("RSTO", 0.05)),
)
ICS_WRITE = Shape(
    "tcp", ((502, 1.0),),
    ln(8, 0.3), ln(1.0, 0.15), ln(110, 0.1), ln(66, 0.05), ln(0.3, 0.5),
    (("SF", 0.9), ("RSTO", 0.1)),
)

TECHNIQUES: dict[str, Technique] = {
    t.id: t
    for t in (
        Technique("T1046", "Network Service Discovery", "discovery", ((SCAN, 1.0),),
                  "attacker", "internal", (0.5, 2.0), 3.0, "bursty"),
        Technique("T1110", "Brute Force", "credential-access", ((BRUTE, 1.0),),
                  "attacker", "exposed", (1.0, 4.0), 2.0,
                  ports_by_archetype={"cloud": ((22, 1.0),), "iot": ((23, 0.6), (22, 0.4))}),
        Technique("T1190", "Exploit Public-Facing Application", "initial-access",
                  ((WEB_EXPLOIT, 1.0),), "attacker", "exposed", (1.0, 3.0), 3.0, "bursty"),
        Technique("T1071", "Application Layer Protocol (C2)", "command-and-control",
                  ((BEACON, 1.0),), "foothold", "c2", (8.0, 24.0), 1.0, "beacon"),
        Technique("T1021", "Remote Services", "lateral-movement", ((LATERAL, 1.0),),
                  "foothold", "internal", (1.0, 4.0), 1.2),
        Technique("T1041", "Exfiltration Over C2 Channel", "exfiltration", ((EXFIL, 1.0),),
                  "foothold", "c2", (1.0, 4.0), 0.6),
        Technique("T1498", "Network Denial of Service", "impact",
                  ((UDP_FLOOD, 0.6), (SYN_FLOOD, 0.4)), "botnet", "exposed", (0.5, 2.0), 3.0,
                  "bursty", src_ports=(53, 123, 1900, 11211)),
        Technique("T1499", "Endpoint Denial of Service", "impact",
                  ((SLOWLORIS, 0.5), (HTTP_FLOOD, 0.5)), "attacker", "exposed", (1.0, 3.0), 2.0),
        Technique("T1486", "Data Encrypted for Impact", "impact", ((ENCRYPT, 1.0),),
                  "foothold", "fileserver", (0.5, 2.0), 1.5, "bursty"),
        Technique("T0855", "Unauthorized Command Message (ICS)", "impair-process-control",
                  ((ICS_WRITE, 1.0),), "engineering", "controller", (0.3, 1.5), 1.5,
                  ports_by_archetype={
                      "industrial": ((502, 0.5), (102, 0.3), (20000, 0.2)),
                      "critical-infra": ((502, 0.6), (20000, 0.4)),
                  }),
    )
}

# fmt: on


def technique(technique_id: str) -> Technique:
    if technique_id not in TECHNIQUES:
        raise KeyError(
            f"unknown ATT&CK technique {technique_id!r}; simulated: {', '.join(TECHNIQUES)}"
        )
    return TECHNIQUES[technique_id]


def main_shape(technique_id: str) -> Shape:
    """The technique's most common flow shape (what look-alikes imitate)."""
    variants = TECHNIQUES[technique_id].variants
    return max(variants, key=lambda pair: pair[1])[0]

"""A kill chain played out in ECS alerts at one organization: brute force from outside into a
foothold, lateral movement, exfiltration to a C2, encryption of a file server."""

from __future__ import annotations

from tests.forensics.ecs import ecs_alert

FOOTHOLD = "10.1.0.10"
ATTACKERS = ("198.18.0.1", "198.18.0.2")
C2 = "198.18.9.9"


def kill_chain(org: str, start: float, rows: iter) -> list[dict]:
    """Brute force from outside into the foothold, then lateral movement, exfiltration to the
    C2 and encryption of a file server, each stage after the last."""
    alerts = []
    for k in range(20):
        alerts.append(
            ecs_alert(
                start + 3 * k, ATTACKERS[k % 2], FOOTHOLD, "brute_force", org=org, row=next(rows)
            )
        )
    for k in range(12):
        alerts.append(
            ecs_alert(
                start + 180 + 5 * k,
                FOOTHOLD,
                f"10.1.0.{20 + k}",
                "lateral_movement",
                org=org,
                row=next(rows),
            )
        )
    for k in range(10):
        alerts.append(
            ecs_alert(start + 400 + 6 * k, FOOTHOLD, C2, "exfiltration", org=org, row=next(rows))
        )
    for k in range(10):
        alerts.append(
            ecs_alert(
                start + 520 + 2 * k, FOOTHOLD, "10.1.0.50", "ransomware", org=org, row=next(rows)
            )
        )
    return alerts

"""ECS alert lines for tests: built directly, or adapted from today's flat ``fedsec detect``
lines (the shape the ECS alerts take: nested objects, typed ports, UTC ``@timestamp``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fedsec.detect.attack import risk_score
from fedsec.forensics.attack import family_techniques

T0 = datetime(2024, 3, 11, 8, 0, tzinfo=UTC)


def stamp(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def ecs_alert(
    minutes: float,
    src: str | None,
    dst: str | None,
    family: str,
    *,
    org: str = "office",
    score: float = 0.97,
    event_id: str | None = None,
    file: str = "flows.csv",
    row: int = 1,
    dst_port: int | str = 445,
) -> dict:
    """One ECS alert (nested objects), ``minutes`` after 2024-03-11 08:00 UTC."""
    techniques, tactics = family_techniques(family)
    threat = {}
    if techniques:
        threat = {
            "framework": "MITRE ATT&CK",
            "technique": {"id": [t.id for t in techniques], "name": [t.name for t in techniques]},
            "tactic": {"name": list(tactics)},
        }
    return {
        "@timestamp": stamp(minutes),
        "event": {
            "id": event_id or f"{org}-{file}-{row}",
            "kind": "alert",
            "category": ["network", "intrusion_detection"],
            "module": "fedsec",
            "dataset": "fedsec.flows",
            "severity": 3,
            "risk_score": risk_score(family, score),  # as detect writes a classifier's
        },
        "source": {"ip": src, "port": 50123} if src else {},
        "destination": {"ip": dst, "port": dst_port} if dst else {},
        "network": {"transport": "tcp"},
        "threat": threat,
        "rule": {"name": family, "ruleset": "classifier"},
        "organization": {"name": org},
        "observer": {"name": f"{org}-sensor"},
        "log": {"file": {"path": file}},
        "fedsec": {"family": family, "score": score, "source_row": row, "row": row - 1},
    }


def from_flat(line: dict, org: str) -> dict:
    """Today's flat alert as the ECS alert carrying the same facts (an ECS alert unchanged)."""
    if "@timestamp" in line:
        return line
    moment = datetime.fromisoformat(str(line["timestamp"]).replace("Z", "+00:00"))
    start = (moment - T0).total_seconds() / 60
    alert = ecs_alert(
        start,
        line.get("src_ip"),
        line.get("dst_ip"),
        line["family"],
        org=org,
        score=line["score"],
        file=line["source_file"],
        row=line["source_row"],
        dst_port=int(line.get("dst_port", 0)),
    )
    if "dataset_label" in line:
        alert["fedsec"]["dataset_label"] = line["dataset_label"]
    return alert


def write_lines(path, alerts: list[dict]) -> None:
    path.write_text("".join(json.dumps(a) + "\n" for a in alerts))

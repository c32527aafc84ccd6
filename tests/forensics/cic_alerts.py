"""Alert lines as ``fedsec detect``'s writers make them from real flows: CIC-IDS2017's DDoS
capture (172.16.0.1 flooding 192.168.10.50), each flow flagged with its own dataset family, so
no model is needed."""

from __future__ import annotations

import json
from datetime import UTC, tzinfo
from pathlib import Path

import numpy as np

from fedsec.data.readers import read_flows
from fedsec.detect.batch import FlowAlerts
from fedsec.detect.ecs import AlertSource
from fedsec.detect.formats import AlertFormat
from tests.conftest import dataset

CIC_DDOS = "cic-ids2017/improved_rnd5000/DDoS_5000.csv.gz"
CLASSES = ["benign", "ddos", "dos"]


def ddos_alerts(count: int, untimed_every: int = 0) -> FlowAlerts:
    """The first ``count`` DDoS flows as alerts; every ``untimed_every``-th with its time cell
    emptied (a flow without a time of its own)."""
    table = read_flows("cicids2017", [dataset(CIC_DDOS)])
    rows = np.flatnonzero(np.asarray(table.family) == "ddos")[:count]
    if untimed_every:
        table.context.loc[table.context.index[rows[::untimed_every]], "timestamp"] = None
    return FlowAlerts(
        table,
        rows,
        0,
        np.asarray(table.family[rows]),
        np.full(len(rows), 0.9),
        CLASSES,
        np.tile([1, 0, 2], (len(rows), 1)),
        np.tile([0.9, 0.06, 0.04], (len(rows), 1)),
    )


def source(naive_zone: tzinfo = UTC) -> AlertSource:
    return AlertSource("ab" * 32, "family-classifier", organization="plant", naive_zone=naive_zone)


def write(path: Path, alerts: FlowAlerts, alert_format: str = "ecs", zone: tzinfo = UTC) -> Path:
    """The alerts written to ``path`` in ``alert_format`` (its column-wise writer)."""
    path.write_bytes(AlertFormat(alert_format, source(zone)).lines(alerts))
    return path


def documents(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]

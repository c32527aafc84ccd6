"""False positives scattered over real traffic by volume are not raised as incidents: real
CIC-IDS2017 benign flows, 1.5 % of them flagged with a random attack family (a detector at
about its calibrated false-positive rate), chain over hours through busy hosts (the DNS server,
the gateway) into groups of 10-20 alerts of four or five "stages". A campaign repeats one kind
of activity on a host or in a burst; these do not, so they stay isolated alerts."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.data.readers import read_flows
from fedsec.detect.batch import FlowAlerts
from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.incidents import find_incidents
from tests.conftest import dataset
from tests.forensics.cic_alerts import CIC_DDOS, ddos_alerts, write

CIC_BENIGN = "cic-ids2017/improved_rnd5000/BENIGN_5000.csv.gz"
CLASSES = ["benign", "ddos", "dos", "brute_force", "infiltration", "recon"]


def false_positives(rate: float, seed: int) -> FlowAlerts:
    """A random ``rate`` of the benign flows, each flagged with a random attack family."""
    table = read_flows("cicids2017", [dataset(CIC_BENIGN)])
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(table.family), int(rate * len(table.family)), replace=False))
    families = rng.choice(CLASSES[2:], len(rows))
    top = np.array([CLASSES.index(f) for f in families])
    ranked = np.column_stack([top, np.zeros_like(top), top % 5 + 1])
    confidences = np.tile([0.9, 0.06, 0.04], (len(rows), 1))
    return FlowAlerts(
        table, rows, 0, families, np.full(len(rows), 0.9), CLASSES, ranked, confidences
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scattered_false_positives_are_no_incident_and_a_flood_still_is(tmp_path, seed):
    noise = write(tmp_path / "benign.jsonl", false_positives(0.015, seed))
    flood = write(tmp_path / "ddos.jsonl", ddos_alerts(120))
    findings = find_incidents(read_alerts([noise, flood]))
    [incident] = findings.incidents  # (each alert names the flow file it came from)
    files = [a.file for a in incident.alerts]
    assert files.count(str(dataset(CIC_DDOS))) == 120
    assert files.count(str(dataset(CIC_BENIGN))) <= 0.05 * 120  # pulled in by a shared host
    isolated = {a.file for group in findings.isolated for a in group.alerts}
    assert isolated == {str(dataset(CIC_BENIGN))}

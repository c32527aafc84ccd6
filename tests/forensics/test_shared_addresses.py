"""Addresses that are not one host (a NAT, a DNS server, broadcast) link no alerts: CIC-IDS2017's
attacker reaches the victim network through the firewall's 172.16.0.1, so its port scan and
its DDoS, hours apart, are one incident through that address unless it is named shared."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fedsec.core.errors import ConfigError
from fedsec.data.readers import read_flows
from fedsec.detect.batch import FlowAlerts
from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.grouping import linkable, shared_addresses
from fedsec.forensics.hosts import Networks
from fedsec.forensics.incidents import find_incidents, findings_json
from tests.conftest import dataset
from tests.forensics.cic_alerts import ddos_alerts, write

CIC_PORTSCAN = "cic-ids2017/improved_rnd5000/Portscan_5000.csv.gz"
CLASSES = ["benign", "recon", "dos"]


def scan_alerts(count: int) -> FlowAlerts:
    """The first ``count`` port-scan flows as alerts of their own family."""
    table = read_flows("cicids2017", [dataset(CIC_PORTSCAN)])
    rows = np.flatnonzero(np.asarray(table.family) == "recon")[:count]
    ranked = np.tile([1, 0, 2], (len(rows), 1))
    confidences = np.tile([0.9, 0.06, 0.04], (len(rows), 1))
    families = np.asarray(table.family[rows])
    return FlowAlerts(
        table, rows, 0, families, np.full(len(rows), 0.9), CLASSES, ranked, confidences
    )


def test_a_shared_address_splits_two_attacks_that_only_it_joined(tmp_path):
    scan = write(tmp_path / "scan.jsonl", scan_alerts(200))
    flood = write(tmp_path / "ddos.jsonl", ddos_alerts(200))
    alerts = read_alerts([scan, flood])
    assert {a.source_ip for a in alerts} == {"172.16.0.1"}
    [joined] = find_incidents(alerts).incidents
    assert {a.family for a in joined.alerts} == {"recon", "ddos"}
    findings = find_incidents(alerts, shared=shared_addresses(["::ffff:172.16.0.1"]))
    assert sorted({a.family for a in i.alerts}.pop() for i in findings.incidents) == [
        "ddos",
        "recon",
    ]
    assert all(len({a.family for a in i.alerts}) == 1 for i in findings.incidents)
    settings = findings_json(findings, Networks())["settings"]
    assert settings["shared_addresses"] == ["172.16.0.1"]


@pytest.mark.parametrize(
    ("address", "links"),
    [
        ("10.1.0.7", True),
        ("255.255.255.255", False),
        ("224.0.0.251", False),
        ("ff02::fb", False),
        ("0.0.0.0", False),
        ("::ffff:10.1.0.7", True),
    ],
)
def test_broadcast_multicast_and_unspecified_addresses_never_link(address, links):
    assert linkable(address) is links
    assert linkable(address, shared_addresses(["10.1.0.7"])) is (
        links and "10.1.0.7" not in address
    )


def test_a_shared_address_that_is_no_address_is_refused():
    with pytest.raises(ConfigError, match="'dns-server' is not an IP address"):
        shared_addresses(["dns-server"])


def test_incidents_takes_shared_addresses_and_the_support_floor(tmp_path):
    from typer.testing import CliRunner

    from fedsec.cli import app

    scan = write(tmp_path / "scan.jsonl", scan_alerts(200))
    flood = write(tmp_path / "ddos.jsonl", ddos_alerts(200))
    runner = CliRunner()
    args = ["incidents", str(scan), str(flood), "--shared-address", "172.16.0.1"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "split")])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "split" / "incidents.json").read_text())
    assert document["summary"]["incidents"] == 2
    assert document["settings"]["shared_addresses"] == ["172.16.0.1"]
    assert document["settings"]["min_support"] == 8
    refused = runner.invoke(
        app, [*args[:3], "--shared-address", "gw", "--out", str(tmp_path / "x")]
    )
    assert refused.exit_code == 2 and "'gw' is not an IP address" in refused.output
    assert not (tmp_path / "x").exists()

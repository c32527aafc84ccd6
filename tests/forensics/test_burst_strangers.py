"""A scanner's burst is its own incident: a workstation's false positive of the same family
that falls among the scan's alerts does not pull that workstation's other alerts of the day
into it (an outside audit on CIC-IDS2017: 9 benign alerts of four workstations joined a port
scan, and its first seen moved four hours before the scan began)."""

from __future__ import annotations

import itertools

from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.incidents import find_incidents
from tests.forensics.ecs import ecs_alert, write_lines

SCANNER, VICTIM, WORKSTATION = "172.16.0.1", "192.168.10.50", "192.168.10.14"


def scan_with_a_stranger(rows) -> list[dict]:
    scan = [  # 40 recon alerts over 80 minutes from one scanner, from minute 240
        ecs_alert(240 + 2 * k, SCANNER, VICTIM, "recon", org="grid", row=next(rows), dst_port=k)
        for k in range(40)
    ]
    stranger = [  # the workstation's false positives: one of them a recon amid the scan
        ecs_alert(0, WORKSTATION, "178.172.160.17", "botnet", org="grid", row=next(rows)),
        ecs_alert(30, WORKSTATION, "40.80.145.38", "dos", org="grid", row=next(rows)),
        ecs_alert(261, WORKSTATION, "124.42.15.200", "recon", org="grid", row=next(rows)),
    ]
    return scan + stranger


def flood(rows) -> list[dict]:
    """A flood from many sources, each once: still one burst."""
    return [
        ecs_alert(600 + 0.5 * k, f"198.19.{k}.1", f"10.1.1.{k}", "ddos", org="grid", row=next(rows))
        for k in range(12)
    ]


def test_a_strangers_false_positive_amid_a_scan_stays_out_of_it(tmp_path) -> None:
    rows = itertools.count(1)
    write_lines(tmp_path / "alerts.jsonl", scan_with_a_stranger(rows) + flood(rows))
    findings = find_incidents(read_alerts([tmp_path / "alerts.jsonl"]), min_support=1)
    scan = next(i for i in findings.incidents if "recon" in {a.family for a in i.alerts})
    assert {a.source for a in scan.alerts} == {SCANNER}
    assert len(scan.alerts) == 40
    assert scan.first_seen == min(a.time for a in scan.alerts if a.source == SCANNER)
    floods = [i for i in findings.incidents if {a.family for a in i.alerts} == {"ddos"}]
    assert [len(i.alerts) for i in floods] == [12]

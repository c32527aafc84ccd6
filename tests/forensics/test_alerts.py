"""Alert lines read back typed, whatever their shape; lines that are not alerts are refused
with the file and line."""

from __future__ import annotations

import json

import pytest

from fedsec.core.errors import InputError
from fedsec.forensics.alerts import Alert, read_alerts
from tests.forensics.ecs import ecs_alert, write_lines


def test_ecs_eve_and_flat_alerts_read_to_the_same_typed_alert(tmp_path) -> None:
    ecs = ecs_alert(0, "198.18.0.7", "10.1.0.5", "brute_force", dst_port="3389", row=4)
    flat = {
        "row": 3,
        "source_file": "flows.csv",
        "source_row": 4,
        "timestamp": "2024-03-11T08:00:00",  # as read: the zone is in timestamp_utc
        "src_ip": "198.18.0.7",
        "src_port": "50123",
        "dst_ip": "10.1.0.5",
        "dst_port": "3389",
        "family": "brute_force",
        "score": 0.97,
        "timestamp_utc": "2024-03-11T08:00:00.000Z",
    }
    eve = {
        "timestamp": "2024-03-11T08:00:00.000000+0000",
        "event_type": "alert",
        "src_ip": "198.18.0.7",
        "src_port": 50123,
        "dest_ip": "10.1.0.5",
        "dest_port": 3389,
        "alert": {
            "signature": "FEDSEC brute_force",
            "metadata": {
                "mitre_technique_id": ["T1110"],
                "mitre_technique_name": ["Brute Force"],
                "mitre_tactic_name": ["Credential Access"],
            },
        },
        "fedsec": {
            "family": "brute_force",
            "score": 0.97,
            "risk_score": 45.59,  # medium (47) x 0.97, as detect writes it
            "file": "flows.csv",
            "source_row": 4,
            "event_id": "e1",
        },
    }
    write_lines(tmp_path / "ecs.jsonl", [ecs])
    write_lines(tmp_path / "flat.jsonl", [flat])
    write_lines(tmp_path / "eve.jsonl", [eve])
    [a] = read_alerts([tmp_path / "ecs.jsonl"])
    [b] = read_alerts([tmp_path / "flat.jsonl"], default_org="office")
    [c] = read_alerts([tmp_path / "eve.jsonl"], default_org="office")
    for alert in (a, b, c):
        assert isinstance(alert, Alert)
        assert alert.time == 1710144000.0  # 2024-03-11T08:00:00Z
        assert (alert.org, alert.family) == ("office", "brute_force")
        assert (alert.source_ip, alert.destination_ip) == ("198.18.0.7", "10.1.0.5")
        assert alert.destination_port == 3389
        assert [t.id for t in alert.techniques] == ["T1110"]
        assert alert.tactics == ("credential-access",)
        assert (alert.file, alert.row) == ("flows.csv", 4)
        assert alert.risk == 45.59  # a flat alert carries none: scored as detect scores


AT = b'{"@timestamp": "2024-03-11T08:00:00Z", '


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"@timestamp": "2024-03-11T08:00:00Z"}\n', "no family"),
        (b'{"family": "recon", "timestamp": "yesterday"}\n', "no readable time"),
        (b"[1, 2]\n", "not a JSON object"),
        (b"{not json\n", "not a JSON object"),
        (b'{"@timestamp": 1e300, "fedsec": {"family": "recon"}}\n', "no readable time"),
        (AT + b'"fedsec": {"family": "recon", "score": "high"}}\n', "score is 'high', not a"),
        (AT + b'"fedsec": {"family": "recon", "source_row": NaN}}\n', "source_row is nan, not"),
        (AT + b'"source": "1.2.3.4", "rule": {"name": "recon"}}\n', "fields of the wrong type"),
    ],
)
def test_a_line_that_is_no_alert_is_refused_with_file_and_line(tmp_path, content, problem):
    path = tmp_path / "alerts.jsonl"
    good = json.dumps(ecs_alert(0, "198.18.0.7", "10.1.0.5", "recon")).encode() + b"\n"
    path.write_bytes(good + b"\n" + content)
    with pytest.raises(InputError, match=problem) as error:
        read_alerts([path])
    assert str(error.value).startswith(f"{path}:3:")


def test_an_overlong_line_is_refused_before_it_is_decoded(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("fedsec.forensics.alerts.MAX_LINE_BYTES", 100)
    path = tmp_path / "alerts.jsonl"
    write_lines(path, [ecs_alert(0, "198.18.0.7", "10.1.0.5", "recon")])
    with pytest.raises(InputError, match="longer than 100 bytes"):
        read_alerts([path])


def test_a_missing_file_is_named(tmp_path) -> None:
    with pytest.raises(InputError, match="cannot read") as error:
        read_alerts([tmp_path / "nope.jsonl"])
    assert "nope.jsonl" in str(error.value)


def test_attack_tactics_read_as_kill_chain_phases_whatever_their_spelling(tmp_path) -> None:
    alert = ecs_alert(0, "198.18.0.7", "10.1.0.5", "recon")
    alert["threat"]["technique"] = {"id": ["T1046", "T1595"], "name": ["NSD", "Active Scanning"]}
    alert["threat"]["tactic"] = {
        "id": ["TA0007", "TA0043"],
        "name": ["Discovery", "Reconnaissance"],
    }
    write_lines(tmp_path / "a.jsonl", [alert])
    [read] = read_alerts([tmp_path / "a.jsonl"])
    assert read.tactics == ("discovery", "reconnaissance")
    assert [(t.id, t.name) for t in read.techniques] == [
        ("T1046", "NSD"),
        ("T1595", "Active Scanning"),
    ]


def test_epoch_milliseconds_read_by_magnitude_as_detect_reads_them(tmp_path) -> None:
    """NetFlow's flat alerts carry the flow's start in epoch milliseconds."""
    flat = {"family": "recon", "src_ip": "198.18.0.7", "timestamp": 1710144000123}
    write_lines(tmp_path / "flat.jsonl", [flat, {**flat, "timestamp": 1710144000.123}])
    assert [a.time for a in read_alerts([tmp_path / "flat.jsonl"])] == [1710144000.123] * 2


def test_a_sensor_is_not_an_organization_and_eve_alerts_keep_theirs(tmp_path) -> None:
    """``observer.name`` is the sensor's host: an alert naming no organization takes --org
    (else none), never the sensor's name, which would become the STIX identity."""
    ecs = ecs_alert(0, "198.18.0.7", "10.1.0.5", "recon")
    del ecs["organization"]
    eve = {"timestamp": "2024-03-11T08:00:00.000000+0000", "event_type": "alert",
           "fedsec": {"family": "recon", "organization": "grid"}}  # fmt: skip
    write_lines(tmp_path / "a.jsonl", [ecs, eve])
    assert [a.org for a in read_alerts([tmp_path / "a.jsonl"])] == ["-", "grid"]
    assert [a.org for a in read_alerts([tmp_path / "a.jsonl"], "plant")] == ["plant", "grid"]

"""Alert times: a flow without a time of its own is dated when detected, which says so
(``fedsec.time_source``), and incidents never take that for when the attack happened; a time
without a zone is refused, not read as UTC."""

from __future__ import annotations

import pytest

from fedsec.core.errors import InputError
from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.hosts import Networks
from fedsec.forensics.incidents import find_incidents, findings_json
from tests.forensics.cic_alerts import ddos_alerts, documents, write


def _report(path) -> dict:
    return findings_json(find_incidents(read_alerts([path])), Networks())


@pytest.mark.parametrize("alert_format", ["ecs", "eve"])
def test_an_alert_says_whether_its_time_is_its_flows(tmp_path, alert_format) -> None:
    path = write(tmp_path / "a.jsonl", ddos_alerts(30, untimed_every=3), alert_format)
    sources = [d["fedsec"]["time_source"] for d in documents(path)]
    assert sources == ["detection", "flow", "flow"] * 10


def test_alerts_without_a_time_join_their_attackers_incident_and_date_nothing(tmp_path) -> None:
    path = write(tmp_path / "a.jsonl", ddos_alerts(60, untimed_every=3))
    flow_times = [d["@timestamp"] for d in documents(path) if d["fedsec"]["time_source"] == "flow"]
    [incident] = _report(path)["incidents"]
    assert incident["alerts"] == 60 and incident["untimed_alerts"] == 20
    assert (incident["first_seen"], incident["last_seen"]) == (min(flow_times), max(flow_times))
    assert incident["timeline"][0]["first_seen"] == min(flow_times)


def test_an_incident_of_alerts_without_time_has_no_first_or_last_seen(tmp_path) -> None:
    path = write(tmp_path / "a.jsonl", ddos_alerts(20, untimed_every=1))
    [incident] = _report(path)["incidents"]
    assert incident["untimed_alerts"] == 20
    assert (incident["first_seen"], incident["last_seen"], incident["duration_s"]) == (None,) * 3


def test_an_ecs_time_without_a_zone_is_refused_naming_the_line(tmp_path) -> None:
    path = write(tmp_path / "a.jsonl", ddos_alerts(3))
    text = path.read_text().splitlines()
    text[1] = text[1].replace('Z", "ecs"', '", "ecs"', 1)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"a\.jsonl:2: alert time 2017-07-07T\S+ has no zone"):
        read_alerts([path])

"""The flat alert format keeps a flow's time as read and adds it in UTC (``timestamp_utc``), read
in ``--timezone``: the flat, ECS and EVE alerts of one run give incidents the same times."""

from __future__ import annotations

import pytest

from fedsec.detect.ecs_values import zone
from fedsec.detect.formats import AlertFormat
from fedsec.forensics.alerts import read_alerts
from tests.forensics.cic_alerts import ddos_alerts, documents, source, write

HALIFAX = zone("America/Halifax")


def test_flat_alerts_carry_the_utc_time_read_in_the_zone_given(tmp_path) -> None:
    alerts = ddos_alerts(40, untimed_every=4)
    times = {}
    for form in ("fedsec", "ecs", "eve"):
        path = write(tmp_path / f"{form}.jsonl", alerts, form, HALIFAX)
        times[form] = [a.time for a in read_alerts([path], default_org="plant") if a.timed]
    assert times["fedsec"] == times["ecs"] == times["eve"] and len(times["ecs"]) == 30
    [flat, *_] = documents(tmp_path / "fedsec.jsonl")[1:]
    assert flat["timestamp"] == "2017-07-07 19:11:39.302427"  # as read: local time, no zone
    assert flat["timestamp_utc"] == "2017-07-07T22:11:39.302Z"


@pytest.mark.parametrize("zone_name", ["UTC", "America/Halifax"])
def test_the_flat_lines_are_the_same_written_by_column_or_by_record(zone_name) -> None:
    alerts = ddos_alerts(40, untimed_every=4)
    writer = AlertFormat("fedsec", source(zone(zone_name)))
    assert writer.lines(alerts) == writer.lines(alerts.records())

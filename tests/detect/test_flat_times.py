"""The flat alert format keeps a flow's time as read and adds it in UTC (``timestamp_utc``), read
in ``--timezone``: the flat, ECS and EVE alerts of one run give incidents the same times."""

from __future__ import annotations

import re

import pytest

from fedsec.core.errors import InputError
from fedsec.detect import alert_times, flat_text
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


def test_the_flow_times_are_read_once_for_the_check_and_the_lines(monkeypatch) -> None:
    calls = []
    read = flat_text.times
    monkeypatch.setattr(flat_text, "times", lambda *a: calls.append(a) or read(*a))
    monkeypatch.setattr(alert_times, "times", lambda *a: calls.append(a) or read(*a))
    alerts = ddos_alerts(40, untimed_every=4)
    AlertFormat("fedsec", source(HALIFAX)).lines(alerts)
    assert len(calls) == 1  # before: once in UTC for the check, once in the zone for the lines


@pytest.mark.parametrize("zone_name", ["UTC", "America/Halifax", "Pacific/Kiritimati"])
@pytest.mark.parametrize(
    "odd",
    ["2017-03-12 02:30:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "not a time", "  "],
)
def test_odd_times_are_refused_or_written_as_the_records_are(zone_name, odd) -> None:
    alerts = ddos_alerts(40, untimed_every=4)
    alerts.table.context.loc[alerts.table.context.index[alerts.rows[5]], "timestamp"] = odd
    writer = AlertFormat("fedsec", source(zone(zone_name)))
    try:
        by_column = writer.lines(alerts)
    except InputError as error:
        with pytest.raises(InputError, match=re.escape(str(error.args[-1]))):
            writer.lines(alerts.records())
    else:
        assert by_column == writer.lines(alerts.records())

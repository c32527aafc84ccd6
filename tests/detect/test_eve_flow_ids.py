"""EVE ``flow_id`` on NF-BoT-IoT-v2 alerts: Suricata writes one, a 64-bit integer, on every
alert and pipelines join on it; fedsec's is its event id's first 48 bits, so it is stable,
and the columns write it as the records do."""

from tests.detect.nf_alerts import (  # noqa: F401 (fixtures)
    assert_columns_write_as_records,
    detect_alerts,
    nf_bundle,
    nf_rows,
)


def test_every_eve_alert_has_a_stable_integer_flow_id(nf_bundle, nf_rows, tmp_path):  # noqa: F811
    header, rows = nf_rows
    path = tmp_path / "flows.csv"
    path.write_text(header + "".join(rows[:400]))
    events = detect_alerts(nf_bundle, path, tmp_path / "a.jsonl", "eve")
    flows = [e["flow_id"] for e in events]
    assert len(events) == 400 and all(type(f) is int and 0 <= f < 2**48 for f in flows)
    assert flows == [int(e["fedsec"]["event_id"][:12], 16) for e in events]
    assert len(set(flows)) == 400
    assert [
        e["flow_id"] for e in detect_alerts(nf_bundle, path, tmp_path / "b.jsonl", "eve")
    ] == flows
    assert_columns_write_as_records(nf_bundle, path, ("eve",))

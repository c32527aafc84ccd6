"""Addresses as a SIEM indexes them, on NF-BoT-IoT-v2 rows given IPv6 link-local addresses with
a zone index and IPv4-mapped ones: ``*.ip`` without the zone (Elasticsearch's ``ip`` type
refuses it), the zone kept under ``fedsec``, a mapped address written as IPv4 (with its
Community ID); column by column as record by record."""

import pytest

from tests.detect.ecs_schema import problems
from tests.detect.nf_alerts import (  # noqa: F401 (fixtures)
    assert_columns_write_as_records,
    detect_alerts,
    nf_bundle,
    nf_rows,
)


@pytest.fixture(scope="module")
def nf_addresses(nf_rows, tmp_path_factory):  # noqa: F811
    """200 rows: even rows to fe80::1%eth0 from fe80::2%3, odd rows from ::ffff:203.0.113.7."""
    header, rows = nf_rows
    lines = []
    for i, line in enumerate(rows[:200]):
        fields = line.split(",")
        if i % 2:
            fields[0] = "::ffff:203.0.113.7"
        else:
            fields[0], fields[2] = "fe80::2%3", "fe80::1%eth0"
        lines.append(",".join(fields))
    path = tmp_path_factory.mktemp("addresses") / "flows.csv"
    path.write_text(header + "".join(lines))
    return path


def test_a_zone_index_is_left_out_of_ip_and_kept(nf_bundle, nf_addresses, tmp_path):  # noqa: F811
    alerts = detect_alerts(nf_bundle, nf_addresses, tmp_path / "a.jsonl", "ecs")
    assert len(alerts) == 200
    for alert in alerts:
        assert problems(alert) == []
    zoned = [a for a in alerts if a["fedsec"]["source_row"] % 2]  # data rows 1, 3 ...: even i
    assert {a["destination"]["ip"] for a in zoned} == {"fe80::1"}
    assert {a["source"]["ip"] for a in zoned} == {"fe80::2"}
    assert {(a["fedsec"]["source_zone"], a["fedsec"]["destination_zone"]) for a in zoned} == {
        ("3", "eth0")
    }
    eve = detect_alerts(nf_bundle, nf_addresses, tmp_path / "b.jsonl", "eve")
    assert {e["dest_ip"] for e in eve if e["fedsec"]["source_row"] % 2} == {"fe80::1"}


def test_an_ipv4_mapped_address_is_written_as_ipv4(nf_bundle, nf_addresses, tmp_path):  # noqa: F811
    alerts = detect_alerts(nf_bundle, nf_addresses, tmp_path / "a.jsonl", "ecs")
    mapped = [a for a in alerts if a["fedsec"]["source_row"] % 2 == 0]
    assert {a["source"]["ip"] for a in mapped} == {"203.0.113.7"}
    tcp_udp = [a for a in mapped if a["network"].get("transport") in ("tcp", "udp")]
    assert tcp_udp and all("community_id" in a["network"] for a in tcp_udp)


def test_the_columns_write_the_addresses_as_the_records_do(nf_bundle, nf_addresses):  # noqa: F811
    assert_columns_write_as_records(nf_bundle, nf_addresses, ("ecs", "eve"))

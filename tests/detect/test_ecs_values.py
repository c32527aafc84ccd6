"""Context values in one type whatever the reader kept: times, addresses, ports, transports."""

import ipaddress
import re
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedsec.data.flow_times import utc_timestamp
from fedsec.detect.ecs_values import ip, port, transport, zone

HALIFAX = zone("America/Halifax")


@pytest.mark.parametrize(
    "value",
    [
        1709510796.63,  # Zeek JSON, pcap: epoch seconds
        "1709510796.630000",  # Zeek TSV: the same as text
        1709510796630,  # NetFlow v2: epoch milliseconds
        1709510796630000,  # microseconds
        1709510796630000000,  # nanoseconds
        "2024-03-04T00:06:36.630Z",  # fedsec flows: ISO 8601 UTC
        "2024-03-04 01:06:36.630+01:00",  # another zone, stated
        "2024-03-04 00:06:36.6304",  # naive text: in the zone given (here UTC)
    ],
)
def test_every_time_form_gives_one_utc_iso_string(value):
    assert utc_timestamp(value, UTC) == "2024-03-04T00:06:36.630Z"


def test_naive_text_is_read_in_the_zone_given_and_stated_zones_win():
    assert utc_timestamp("2017-07-07 08:59:00", HALIFAX) == "2017-07-07T11:59:00.000Z"
    assert utc_timestamp("2017-07-07 08:59:00+00:00", HALIFAX) == "2017-07-07T08:59:00.000Z"
    assert utc_timestamp(1499417940.0, HALIFAX) == "2017-07-07T08:59:00.000Z"


@pytest.mark.parametrize(
    "value", [None, "-", "", "not a time", float("nan"), -5, True, 1e30, "\\1", "0000-01-01"]
)
def test_what_is_no_time_gives_none(value):
    """``"\\1"`` pandas reads as year 0, which no datetime holds: it raised ValueError."""
    assert utc_timestamp(value, UTC) is None


def test_ports_are_ints_or_none():
    assert [port(v) for v in ("80", 80.0, 80, " 443 ", 0, 65535)] == [80, 80, 80, 443, 0, 65535]
    assert [port(v) for v in ("-", None, 80.5, 70000, -1, float("nan"), True)] == [None] * 7


def test_addresses_are_checked_and_canonical():
    assert ip(" 10.0.0.1 ") == "10.0.0.1"
    assert ip("2001:DB8:0:0::1") == "2001:db8::1"
    assert [ip(v) for v in ("-", "", None, "10.0.0.256", "host.example")] == [None] * 5


def test_transports_by_name_or_iana_number():
    assert [transport(v) for v in ("TCP", "udp", 6, "17", 1.0)] == [
        "tcp",
        "udp",
        "tcp",
        "udp",
        "icmp",
    ]
    assert [transport(v) for v in ("other", None, 99, "-")] == [None] * 4


def test_an_unknown_zone_is_named():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")


def test_community_id_is_the_specifications_hash_and_needs_both_endpoints():
    from fedsec.detect.community import community_id

    source, destination = (
        {"ip": "128.232.110.120", "port": 34855},
        {"ip": "66.35.250.204", "port": 80},
    )
    # the Community ID specification's own TCP example
    assert community_id("tcp", source, destination) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    assert community_id("tcp", destination, source) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    assert community_id("udp", source, destination) != community_id("tcp", source, destination)
    assert community_id("icmp", source, destination) is None
    assert community_id("tcp", {"ip": "10.0.0.1"}, destination) is None


@given(st.one_of(st.text(max_size=40), st.floats(), st.integers(), st.none(), st.booleans()))
def test_any_value_gives_a_typed_field_or_none(value):
    time = utc_timestamp(value, HALIFAX)
    assert time is None or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", time)
    number = port(value)
    assert number is None or (type(number) is int and 0 <= number <= 65535)
    address = ip(value)
    assert address is None or ipaddress.ip_address(address)
    assert transport(value) in (None, "tcp", "udp", "icmp", "ipv6-icmp", "sctp", "gre", "esp", "ah")


@given(
    st.ip_addresses(v=4) | st.ip_addresses(v=6),
    st.ip_addresses(v=4) | st.ip_addresses(v=6),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.sampled_from(["tcp", "udp"]),
)
def test_community_id_agrees_with_the_specifications_reference_code(a, b, a_port, b_port, name):
    import communityid

    from fedsec.detect.community import community_id

    ours = community_id(name, {"ip": str(a), "port": a_port}, {"ip": str(b), "port": b_port})
    if a.version != b.version:
        assert ours is None
        return
    make = communityid.FlowTuple.make_tcp if name == "tcp" else communityid.FlowTuple.make_udp
    assert ours == communityid.CommunityID().calc(make(str(a), str(b), a_port, b_port))

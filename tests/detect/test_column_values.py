"""A column of alert values converted at once gives, value for value, what the scalar functions
of ``ecs_values`` give: times (epoch numbers, ISO and other text, in any zone), ports and
addresses."""

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsec.data.flow_times import utc_timestamp
from fedsec.detect.column_values import (
    by_distinct,
    community_ids,
    floats,
    ips,
    ports,
    python_round,
    rounded_texts,
    utc_times,
)
from fedsec.detect.community import community_id
from fedsec.detect.ecs_values import ip, port, zone

ZONES = [UTC, zone("UTC"), zone("America/Halifax")]


def _iso_text(moment, sep: str, digits: int, z: bool) -> str:
    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + ("Z" if z else "")


ISO_TEXT = st.builds(
    _iso_text,
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(2999, 12, 31)),
    st.sampled_from(["T", " "]),
    st.integers(0, 6),
    st.booleans(),
)
EPOCH = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 2e9),
    st.floats(1e12, 2e12),
    st.floats(1e15, 2e15),
    st.floats(1e18, 2e18),
    st.sampled_from([0.0, -0.0, 1e11, 1e14, 1e17, 1e20, 99999999999.9999995, 1709510796.63]),
)
TEXT = st.one_of(
    ISO_TEXT,
    EPOCH.filter(lambda v: v == v).map(repr),
    st.integers(0, 10**19).map(str),
    st.from_regex(r"\d{1,12}\.\d{1,9}", fullmatch=True),
    st.sampled_from(["", "-", "2024-02-30T00:00:00", "1999-12-31T23:59:60", "2017-7-7 3:56:33"]),
    st.sampled_from(["2024-03-10 02:30:00", "2023-11-05 01:30:00", " 12", "1e3", "nan", "inf"]),
    st.text(max_size=8),
)


def _column(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.one_of(st.none(), values), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        _column(EPOCH),
        _column(st.integers(0, 2**63 - 1)),
        _column(TEXT),
        _column(st.one_of(EPOCH, st.integers(-5, 10**12), TEXT, st.booleans())),
    ),
    st.sampled_from(ZONES),
)
def test_times_of_a_column_are_the_scalar_ones(values, naive_zone):
    expected = [None if v is None else utc_timestamp(v, naive_zone) for v in values]
    assert utc_times(values, naive_zone) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _column(st.integers(-10, 70_000)),
        _column(st.floats(allow_nan=True, allow_infinity=True)),
        _column(st.sampled_from([80.0, -0.0, 65535.0, 65535.5, 65536.0, 1e300])),
        _column(st.one_of(st.integers(-2, 70_000), st.text(max_size=6), st.booleans())),
    )
)
def test_ports_of_a_column_are_the_scalar_ones(values):
    assert ports(values) == [None if v is None else port(v) for v in values]


@settings(max_examples=100, deadline=None)
@given(
    _column(
        st.one_of(
            st.ip_addresses().map(str),
            st.ip_addresses(v=4).map(lambda a: f" {a} "),
            st.sampled_from(["-", "", "10.0.0.256", "::ffff:10.0.0.1", "2001:DB8::1"]),
            st.integers(0, 2**32),
        )
    )
)
def test_addresses_of_a_column_are_the_scalar_ones(values):
    assert ips(values) == [None if v is None else ip(v) for v in values]


def test_distinct_values_are_converted_once_but_types_are_kept_apart():
    calls: list = []

    def convert(value):
        calls.append(value)
        return repr(value)

    assert by_distinct(["a", "b", "a", "a"], convert) == ["'a'", "'b'", "'a'", "'a'"]
    assert calls == ["a", "b"]
    assert by_distinct([1, 1.0, True], repr) == ["1", "1.0", "True"]
    assert by_distinct([0.0, -0.0], repr) == ["0.0", "-0.0"]


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_epoch_columns_from_numpy_values(dtype):
    values = np.asarray([1709510796, 1709510796630, 0, 10**17], dtype=dtype).tolist()
    assert utc_times(values, UTC) == [utc_timestamp(v, UTC) for v in values]


ADDRESS = st.one_of(
    st.none(),
    st.ip_addresses(v=4).map(str),
    st.sampled_from(["10.0.0.1", "10.0.0.2", "255.255.255.255", "0.0.0.0", "::1", "fe80::1"]),
    st.ip_addresses(v=6).map(str),
)
PORT = st.one_of(st.none(), st.integers(0, 65_535), st.sampled_from([0, 80, 65_535]))
FLOW = st.tuples(st.sampled_from([None, "tcp", "udp", "icmp"]), ADDRESS, PORT, ADDRESS, PORT)


@settings(max_examples=300, deadline=None)
@given(st.lists(FLOW, max_size=30))
def test_community_ids_of_a_column_are_the_scalar_ones(flows):
    expected = [
        community_id(name, {"ip": a, "port": p}, {"ip": b, "port": q})
        if None not in (a, p, b, q)
        else None
        for name, a, p, b, q in flows
    ]
    columns = [list(column) for column in zip(*flows, strict=True)] or [[]] * 5
    assert community_ids(*columns) == expected


def test_the_community_id_of_a_known_flow():
    """The Community ID spec's own example: TCP 128.232.110.120:34855 -> 66.35.250.204:80."""
    found = community_ids(["tcp"], ["128.232.110.120"], [34855], ["66.35.250.204"], [80])
    assert found == ["1:LQU9qZlK+B5F3KDmev6m5PMibrg="]


HALVES = st.integers(-(10**9), 10**9).map(lambda n: (n + 0.5) / 10**6)  # near a half, scaled


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(-2, 2),
            st.floats(-1e12, 1e12),
            HALVES,
            st.sampled_from([0.0, -0.0, 1e-7, -1e-7, 0.03125, 2.5e-5, 4.5e9, 1e300, 5e-324]),
        ),
        max_size=40,
    ),
    st.sampled_from([2, 4, 6]),
)
def test_rounding_a_column_is_pythons_round(values, digits):
    expected = [round(v, digits) for v in values]
    found = python_round(np.asarray(values, dtype=np.float64), digits).tolist()
    assert [repr(v) for v in found] == [repr(v) for v in expected]
    assert rounded_texts(np.asarray(values), digits) == [json.dumps(v) for v in expected]
    assert floats(expected) == [json.dumps(v) for v in expected]

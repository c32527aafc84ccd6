"""A context column converted to an Arrow array gives, value for value, what the list-wise
conversions of ``column_values`` give (themselves held to the scalar functions): times of text
and of numbers in any zone, addresses, ports of every column type, and Community IDs."""

from datetime import UTC

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsec.detect.column_values import community_ids as listed_ids
from fedsec.detect.column_values import ips, ports, utc_times
from fedsec.detect.context_arrays import addresses, community_ids, port_numbers, times
from tests.detect.test_column_values import EPOCH, FLOW, ISO_TEXT, TEXT, ZONES


def _column(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.one_of(st.none(), values), max_size=30)


def _text(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def _numbers(values: list) -> pd.Series:
    return pd.Series([np.nan if v is None else v for v in values], dtype=np.float64)


@settings(max_examples=300, deadline=None)
@given(_column(st.one_of(TEXT, ISO_TEXT, ISO_TEXT.map(lambda t: t + "Z"))), st.sampled_from(ZONES))
def test_times_of_a_text_column_are_the_listed_ones(values, naive_zone):
    assert times(_text(values), naive_zone).to_pylist() == utc_times(values, naive_zone)


@settings(max_examples=100, deadline=None)
@given(_column(st.one_of(TEXT, ISO_TEXT)), _column(st.one_of(TEXT, ISO_TEXT)))
def test_a_text_column_joined_from_parts_is_read_as_one(first, second):
    """A chunk that spans two Parquet row groups holds its text in two Arrow chunks: its
    times (ECS and flat alerts of such a chunk) raised AttributeError."""
    joined = pd.concat([_text(first), _text(second)], ignore_index=True)
    assert times(joined, UTC).to_pylist() == utc_times(first + second, UTC)
    assert addresses(joined).to_pylist() == ips(first + second)


@settings(max_examples=100, deadline=None)
@given(_column(EPOCH.filter(lambda v: v == v)), st.sampled_from(ZONES))
def test_times_of_a_number_column_are_the_listed_ones(values, naive_zone):
    assert times(_numbers(values), naive_zone).to_pylist() == utc_times(values, naive_zone)


@settings(max_examples=100, deadline=None)
@given(
    _column(
        st.one_of(
            st.ip_addresses().map(str),
            st.ip_addresses(v=4).map(lambda a: f" {a} "),
            st.sampled_from(["-", "", "10.0.0.256", "::ffff:10.0.0.1", "2001:DB8::1"]),
        )
    )
)
def test_addresses_of_a_text_column_are_the_listed_ones(values):
    assert addresses(_text(values)).to_pylist() == ips(values)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-10, 70_000), max_size=30),
    _column(st.floats(allow_nan=False, allow_infinity=True)),
    _column(st.one_of(st.integers(-2, 70_000), st.text(max_size=6))),
)
def test_ports_of_every_column_type_are_the_listed_ones(whole, fractions, mixed):
    assert port_numbers(pd.Series(whole, dtype=np.int64)).to_pylist() == ports(whole)
    assert port_numbers(_numbers(fractions)).to_pylist() == ports(fractions)
    assert port_numbers(pd.Series(mixed, dtype=object)).to_pylist() == ports(mixed)


@settings(max_examples=300, deadline=None)
@given(st.lists(FLOW, max_size=30))
def test_community_ids_of_arrays_are_the_listed_ones(flows):
    columns = [list(column) for column in zip(*flows, strict=True)] or [[]] * 5
    names, src, sport, dst, dport = columns
    found = community_ids(
        pa.array(names, pa.string()),
        pa.array(src, pa.string()),
        pa.array(sport, pa.int64()),
        pa.array(dst, pa.string()),
        pa.array(dport, pa.int64()),
    )
    assert found.to_pylist() == listed_ids(*columns)

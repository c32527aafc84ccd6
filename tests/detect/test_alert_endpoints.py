"""The flagged rows' addresses and ports are checked once per distinct value (they repeat
heavily: before, each of the four values of every flagged row was checked in Python, ~600k
checks per million rows), and the refusal is the one the value-by-value check gave: the same
file, data row and column, roles in the same order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fedsec.core.errors import InputError
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect import alert_endpoints
from fedsec.detect.alert_endpoints import bad_endpoint_rows, refuse_bad_endpoints
from tests.conftest import dataset

CIC = "cic-ids2017/improved_rnd5000/DDoS_5000.csv.gz"


@pytest.fixture
def flows():
    """3,000 real CIC-IDS2017 DDoS flows (few distinct addresses, as a real alert volume)."""
    return next(iter(read_chunks("cicids2017", [dataset(CIC)]))).take(np.arange(3000))


def _refusal(table, rows) -> str:
    with pytest.raises(InputError) as error:
        refuse_bad_endpoints(table, rows)
    return str(error.value)


def test_dotted_quads_and_numeric_ports_take_no_check_in_python(flows, monkeypatch):
    calls = []
    for name in ("bad_address", "bad_port"):
        check = getattr(alert_endpoints, name)
        monkeypatch.setattr(alert_endpoints, name, lambda v, c=check: calls.append(v) or c(v))
    rows = np.arange(0, len(flows), 2)
    refuse_bad_endpoints(flows, rows)  # all good: nothing refused
    assert calls == []  # IPv4 text and integer ports: checked as arrays


def test_other_addresses_are_checked_once_per_distinct_value(monkeypatch):
    calls = []
    check = alert_endpoints.bad_address
    monkeypatch.setattr(alert_endpoints, "bad_address", lambda v: calls.append(v) or check(v))
    values = ["10.0.0.1", "fe80::1", "host.example", "999.1.1.300", None] * 500
    bad = alert_endpoints.bad_values(pd.Series(values, dtype="string[pyarrow]"), "src_ip")
    assert list(np.flatnonzero(bad)) == list(range(3, 2500, 5))
    assert sorted(calls) == ["999.1.1.300", "fe80::1", "host.example"]


ADDRESS_TEXTS = [
    *("0.0.0.0", "255.255.255.255", "10.1.0.15", "192.168.001.1", "01.2.3.4", "256.1.1.1"),
    *("1.2.3", "1.2.3.4.5", " 10.0.0.1 ", "10.0.0.1\n", "١.2.3.4", "1..2.3", "1.2.3.4."),
    *("1.2.3.-4", "+1.2.3.4", "::1", "fe80::1%eth0", "host-1.example.com", "-", "", "(empty)"),
    *("999.1.1.300", "a b", "10.0.0.1/24", "1.2.3.04", "9.99.199.249", "0.00.0.0"),
]


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "string[python]", "str", object])
def test_text_addresses_are_judged_as_value_by_value(dtype):
    column = pd.Series([*ADDRESS_TEXTS, None], dtype=dtype)
    expected = [alert_endpoints.bad_address(v) for v in [*ADDRESS_TEXTS, None]]
    assert alert_endpoints.bad_values(column, "dst_ip").tolist() == expected


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([0, 80, 65535, 65536, -1, 2**40, -(2**40)], np.int64),
        ([0, 80, 65535, 65536, 2**40], np.uint64),
        ([0, 80, 65535], np.uint16),
        ([-3, 0, 127], np.int8),
        ([0.0, -0.0, 80.0, 65535.0, 65535.5, 65536.0, -1.0, 0.5, 1e300, np.nan], np.float64),
        ([np.inf, -np.inf, 5e-324, -5e-324, 49769.5], np.float64),
        ([80.0, 80.5, 65536.0, np.nan, np.inf], np.float32),
    ],
)
def test_numeric_ports_are_judged_as_value_by_value(values, dtype):
    column = pd.Series(np.array(values, dtype=dtype))
    expected = [alert_endpoints.bad_port(v) for v in column.tolist()]
    assert alert_endpoints.bad_values(column, "src_port").tolist() == expected


def test_a_column_of_mixed_values_is_checked_once_per_distinct_value(monkeypatch):
    calls = []
    check = alert_endpoints.bad_port
    monkeypatch.setattr(alert_endpoints, "bad_port", lambda v: calls.append(v) or check(v))
    column = pd.Series([80, "80", 70000] * 1000 + [None], dtype=object)
    bad = alert_endpoints.bad_values(column, "dst_port")
    assert list(np.flatnonzero(bad)) == list(range(2, 3000, 3))
    assert sorted(map(str, calls)) == ["70000", "80", "80", "None"]


def test_the_first_bad_row_is_named_as_before(flows):
    context = flows.context
    context["dst_port"] = context["dst_port"].astype(object)
    context.loc[2500, "dst_port"] = 70000  # a later role: named only without a bad address
    context.loc[1800, "src_ip"] = "999.1.1.300"
    context.loc[1200, "src_ip"] = "999.1.1.300"  # not flagged: never named
    rows = np.arange(1300, 3000)
    said = _refusal(flows, rows)
    assert "DDoS_5000.csv.gz" in said and "column 'src_ip' holds '999.1.1.300'" in said
    assert f"(data row {int(flows.source_row[1800])})" in said
    context.loc[1800, "src_ip"] = context.loc[1801, "src_ip"]
    said = _refusal(flows, rows)
    assert "column 'dst_port' holds 70000, not a port (0..65535)" in said
    assert f"(data row {int(flows.source_row[2500])})" in said
    assert list(bad_endpoint_rows(flows)) == [1200, 2500]


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        ([80, 80.0, True, "80", None, np.nan, 49769.5], [2, 6]),  # 1 and True alike as keys
        (pd.array([443, None, 70000], dtype="Int64"), [2]),
        ([80.0, np.nan, -1.0], [2]),
    ],
)
def test_ports_of_any_kind_are_judged_value_by_value(values, bad):
    column = pd.Series(values)
    assert list(np.flatnonzero(alert_endpoints.bad_values(column, "src_port"))) == bad

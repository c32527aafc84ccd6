"""A flagged row whose address or port is given but is not one has no alert, in any alert
format: an address that is neither an IP address nor a host name (``999.1.1.300``), a port
that is not a whole number in 0-65535 (``49769.5``, ``-1``) would otherwise vanish from its
alert silently (no ``source.ip``, no Community ID). The row is refused with its file, data row
and the file's name of the column, as a port of 70000 in a mapped ``dst_port`` is."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fedsec.core.errors import InputError
from fedsec.data.flows import FlowTable
from fedsec.detect.arrow_text import by_distinct, strings
from fedsec.detect.context_arrays import python_values, text_column
from fedsec.detect.ecs_values import alert_file, ip, port

#: Values that say "no address / no port" (Zeek's unset field), never refused.
ABSENT = frozenset({"", "-", "(empty)"})
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
ADDRESSES, PORTS = ("src_ip", "dst_ip"), ("src_port", "dst_port")
PORT_LOW, PORT_HIGH = 0, 65_535
#: An IPv4 address as :func:`ipaddress.ip_address` reads one: four decimal octets of at most
#: 255, without a leading zero or a blank (tests/detect/test_alert_endpoints.py).
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
DOTTED_QUAD = rf"^{_OCTET}(?:\.{_OCTET}){{3}}$"


def host_name(text: str) -> bool:
    """Whether ``text`` is a host name (RFC 1123 labels; its last label not all digits, so a
    malformed dotted quad is not one)."""
    labels = text.removesuffix(".").split(".")
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    return not labels[-1].isdigit()


def domain(value: object) -> str | None:
    """The host name ``value`` holds (as given, less surrounding blanks) when it holds one and
    not an IP address: what an alert keeps as ``source.address`` and ``source.domain`` (ECS)
    or ``fedsec.src_host`` (EVE), where no ``.ip`` can be written; None otherwise."""
    return None if value is None else _domain(str(value).strip())


@lru_cache(maxsize=65_536)
def _domain(text: str) -> str | None:
    if text in ABSENT or ip(text) is not None or not host_name(text):
        return None
    return text


def domains(column: pd.Series) -> pa.Array:
    """:func:`domain` of each value of a context column (null: none), once per distinct text."""
    text = text_column(column)
    if text is None:
        return strings([domain(v) for v in python_values(column)])
    return by_distinct(text, domain)


def bad_address(value: object) -> bool:
    """Whether ``value`` is given but is neither an IP address nor a host name."""
    if value is None or str(value).strip() in ABSENT:
        return False
    text = str(value).strip()
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return not host_name(text)
    return False


def bad_port(value: object) -> bool:
    """Whether ``value`` is given but is not a port (a whole number in 0-65535)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, str) and value.strip() in ABSENT:
        return False
    return port(value) is None


def endpoint_refusal(value: object, row: object, column: str, role: str) -> str:
    """Why a flagged row is refused: its ``role`` column (``column`` in the file) holds
    ``value``, not an address or not a port."""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    what = "an IP address nor a host name" if role in ADDRESSES else "a port (0..65535)"
    return (
        f"column {column!r} holds {shown}, neither {what} (data row {row}): an alert keeps "
        "the flow's endpoints as they are, never drops them; fix the value (or leave it empty)"
        if role in ADDRESSES
        else f"column {column!r} holds {shown}, not {what} (data row {row}); fix the value "
        "(or leave it empty)"
    )


def bad_values(column: pd.Series, role: str) -> np.ndarray:
    """Which values of ``column`` (the context column of ``role``) are given but are not an
    address (or a port): ports held as numpy numbers checked as arrays, addresses in dotted
    quads as Arrow text, the other values by :func:`bad_address` or :func:`bad_port`, each
    distinct value once (addresses repeat heavily)."""
    if role in PORTS and _numbers(column):
        return _bad_number_ports(column.to_numpy())
    if role in ADDRESSES and isinstance(column.dtype, pd.StringDtype):
        return _bad_text_addresses(column)
    return _bad_distinct(column, bad_address if role in ADDRESSES else bad_port)


def _numbers(column: pd.Series) -> bool:
    """Whether the column is a numpy integer or float column (no bool, no missing integer)."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf"


def _bad_number_ports(values: np.ndarray) -> np.ndarray:
    """:func:`bad_port` of each number: an integer outside 0-65535, a float that is not a whole
    number in it (NaN: missing, never refused)."""
    if values.dtype.kind in "iu":
        return (values < PORT_LOW) | (values > PORT_HIGH)
    values = values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(values) & (values >= PORT_LOW) & (values <= PORT_HIGH)
        good &= np.floor(values) == values
    return ~(good | np.isnan(values))


def _bad_text_addresses(column: pd.Series) -> np.ndarray:
    """:func:`bad_address` of each text, once per distinct text: a dotted quad that
    ``ipaddress`` reads is no bad address (Arrow's regex over the distinct texts); the others
    go to :func:`bad_address` (missing: never bad)."""
    found = pc.dictionary_encode(text_column(column))
    distinct = found.dictionary
    quad = pc.match_substring_regex(distinct, DOTTED_QUAD).to_numpy(zero_copy_only=False)
    flags = np.zeros(len(distinct) + 1, dtype=bool)  # the last: a missing value
    for index in np.flatnonzero(~quad).tolist():
        flags[index] = bad_address(distinct[index].as_py())
    codes = pc.fill_null(found.indices, len(distinct)).to_numpy(zero_copy_only=False)
    return flags[codes]


def _bad_distinct(column: pd.Series, check: Callable[[object], bool]) -> np.ndarray:
    """``check`` of each value of ``column``, called once per distinct value."""
    if column.dtype == object:  # mixed values: 1, 1.0 and True are not alike as ports
        keys = pd.Series([(type(v), v) for v in python_values(column)], dtype=object)
        codes, distinct = pd.factorize(keys)
        flags = np.asarray([check(value) for _, value in distinct] + [False], dtype=bool)
        return flags[codes]
    codes, distinct = pd.factorize(column)  # missing values: code -1, never refused
    flags = np.asarray([check(v) for v in distinct.tolist()] + [False], dtype=bool)
    return flags[codes]


def first_bad_endpoint(table: FlowTable, rows: np.ndarray) -> tuple[str, int] | None:
    """The role and position in ``rows`` of the first row whose address (then port) is given
    but is not one, roles in order; None if there is none."""
    for role in (*ADDRESSES, *PORTS):
        if role in table.context.columns:
            bad = np.flatnonzero(bad_values(table.context[role].iloc[rows], role))
            if len(bad):
                return role, int(bad[0])
    return None


def bad_endpoint_rows(table: FlowTable) -> np.ndarray:
    """Positions in ``table`` of the rows whose address or port is given but is not one."""
    bad = np.zeros(len(table), dtype=bool)
    for role in (*ADDRESSES, *PORTS):
        if role in table.context.columns:
            bad |= bad_values(table.context[role], role)
    return np.flatnonzero(bad)


def refuse_bad_endpoints(table: FlowTable, rows: np.ndarray) -> None:
    """An InputError for the first of ``rows`` (the flagged rows) whose address or port is
    given but is not one."""
    found = first_bad_endpoint(table, rows)
    if found is None:
        return
    role, position = found
    row = int(rows[position])
    value = python_values(table.context[role].iloc[[row]])[0]
    column = table.context_columns.get(role, role)
    refusal = endpoint_refusal(value, int(table.source_row[row]), column, role)
    raise InputError(alert_file(str(table.source_file[row])), refusal)


def refuse_bad_record_endpoints(record: dict) -> None:
    """:func:`refuse_bad_endpoints` of one alert record."""
    for role in (*ADDRESSES, *PORTS):
        value = record.get(role)
        if (bad_address if role in ADDRESSES else bad_port)(value):
            where = alert_file(str(record.get("source_file", "")))
            refusal = endpoint_refusal(value, record.get("source_row"), role, role)
            raise InputError(where, refusal)

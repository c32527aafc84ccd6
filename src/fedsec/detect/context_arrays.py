"""A chunk's alerts' typed context values (times, addresses, ports, transports, Community IDs)
as Arrow arrays: value for value what :mod:`fedsec.detect.column_values` gives as lists, text
columns converted once per distinct text, numbers in numpy; a column of any other kind goes
through the lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fedsec.detect.arrow_text import by_distinct, fixed_width, strings
from fedsec.detect.column_values import ISO_TIME, ips, iso_millis, ports, utc_times, v4_digests
from fedsec.detect.community import community_id, packed_address
from fedsec.detect.ecs_values import ip

_NUMBERS = {"tcp": 6, "udp": 17}
#: ISO-8601 times as Arrow reads them.
STAMP = pa.timestamp("us")


def python_values(column: pd.Series) -> list:
    """The column's values as Python objects (missing: None)."""
    values = column.tolist()
    missing = column.isna().to_numpy()
    if missing.any():
        return [None if gone else v for v, gone in zip(values, missing.tolist(), strict=True)]
    return values


def text_column(column: pd.Series) -> pa.Array | None:
    """A text column as Arrow strings (None: the column is not text)."""
    if isinstance(column.dtype, pd.StringDtype):
        text = pa.array(column)  # chunked where the column joins Arrow chunks (row groups)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        return text.cast(pa.string())
    return None


def times(column: pd.Series, naive_zone: tzinfo) -> pa.Array:
    """``utc_timestamp`` of each value (null: absent or not a time)."""
    text = text_column(column)
    if text is None:
        return strings(utc_times(python_values(column), naive_zone))
    found = pc.dictionary_encode(text)
    return _distinct_times(found.dictionary, naive_zone).take(found.indices)


def _distinct_times(distinct: pa.Array, naive_zone: tzinfo) -> pa.Array:
    """``utc_times`` of distinct texts: the ISO-8601 texts it reads in numpy read by Arrow
    (the same microseconds; a date either refuses sends them all to ``utc_times``), the others
    by ``utc_times``."""
    iso = pc.match_substring_regex(distinct, f"^(?:{ISO_TIME.pattern})$")
    if not (naive_zone is UTC or getattr(naive_zone, "key", None) == "UTC"):
        iso = pc.and_(iso, pc.ends_with(distinct, "Z"))
    try:
        stamps = pc.cast(pc.utf8_rtrim(distinct.filter(iso), "Z"), STAMP)  # one Z at most
    except pa.ArrowInvalid:
        return strings(utc_times(distinct.to_pylist(), naive_zone))
    micros = stamps.cast(pa.int64()).to_numpy()
    out = pc.replace_with_mask(
        pa.nulls(len(distinct), pa.string()), iso, pa.array(iso_millis(micros))
    )
    others = pc.invert(iso)
    if pc.any(others).as_py():
        texts = utc_times(distinct.filter(others).to_pylist(), naive_zone)
        out = pc.replace_with_mask(out, others, strings(texts))
    return out


def addresses(column: pd.Series) -> pa.Array:
    """``ip`` of each value (null: absent or not an address)."""
    text = text_column(column)
    if text is None:
        return strings(ips(python_values(column)))
    return by_distinct(text, ip)


def port_numbers(column: pd.Series) -> pa.Array:
    """``port`` of each value as int64 (null: absent or not a port)."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        numbers = column.to_numpy()
        with np.errstate(invalid="ignore"):
            good = (numbers >= 0) & (numbers <= 65_535)
            if dtype.kind == "f":
                good &= numbers == np.floor(numbers)  # NaN and infinities fail both
        whole = np.where(good, numbers, 0).astype(np.int64)
        return pa.array(whole, mask=~good)
    return pa.array(ports(python_values(column)), pa.int64())


def per_distinct(text: pa.Array, convert: Callable[[str], int], dtype: type) -> np.ndarray:
    """``convert`` of each text (absent: 0) as a numpy array, once per distinct text."""
    found = pc.dictionary_encode(text)
    values = [convert(t) for t in found.dictionary.to_pylist()]
    at = pc.fill_null(found.indices, -1).to_numpy(zero_copy_only=False)
    return np.asarray([*values, 0], dtype=dtype)[at]


def _endpoints(addresses: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each address's packed size (0: none) and, for IPv4, its number (else 0)."""
    found = pc.dictionary_encode(addresses)
    packed = [packed_address(t) for t in found.dictionary.to_pylist()]
    sizes = np.asarray([len(p) for p in packed] + [0], dtype=np.int64)
    numbers = [int.from_bytes(p, "big") if len(p) == 4 else 0 for p in packed]
    at = pc.fill_null(found.indices, -1).to_numpy(zero_copy_only=False)
    return sizes[at], np.asarray([*numbers, 0], dtype=np.int64)[at]


def present(array: pa.Array) -> np.ndarray:
    return pc.is_valid(array).to_numpy(zero_copy_only=False)


def community_ids(
    transports: pa.Array, src: pa.Array, sport: pa.Array, dst: pa.Array, dport: pa.Array
) -> pa.Array:
    """``community_id`` of each flow (null: none): IPv4 flows packed in numpy and hashed one
    sha1 each, IPv6 ones one by one."""
    protocols = per_distinct(transports, lambda t: _NUMBERS.get(t, 0), np.uint8)
    (a_size, a), (b_size, b) = _endpoints(src), _endpoints(dst)
    flows = (protocols > 0) & present(sport) & present(dport)
    four = flows & (a_size == 4) & (b_size == 4)
    six = flows & (a_size == 16) & (b_size == 16)
    out = pa.nulls(len(transports), pa.string())
    if four.any():
        a_port, b_port = (pc.fill_null(p, 0).to_numpy() for p in (sport, dport))
        at = np.flatnonzero(four)
        text = v4_digests(protocols[at], a[at], b[at], a_port[at], b_port[at])
        digits = np.frombuffer(text, dtype=np.uint8).reshape(len(at), 28)
        written = np.empty((len(at), 30), dtype=np.uint8)  # "1:", 27 digits, "="
        written[:, 0], written[:, 1], written[:, 29] = ord("1"), ord(":"), ord("=")
        written[:, 2:29] = digits[:, :27]
        ids = fixed_width(written.tobytes(), 30, len(at))
        out = ids if len(at) == len(out) else pc.replace_with_mask(out, pa.array(four), ids)
    if six.any():
        at = np.flatnonzero(six).tolist()
        ends = [
            column.take(pa.array(at)).to_pylist() for column in (transports, src, sport, dst, dport)
        ]
        ids = [
            community_id(name, {"ip": a, "port": p}, {"ip": b, "port": q})
            for name, a, p, b, q in zip(*ends, strict=True)
        ]
        out = pc.replace_with_mask(out, pa.array(six), strings(ids))
    return out

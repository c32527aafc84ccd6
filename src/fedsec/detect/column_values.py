"""The typed alert values of :mod:`fedsec.detect.ecs_values`, for a whole column of alerts at
once: each gives, value for value, what its scalar function gives (``tests/detect/
test_column_values.py``), converting epoch numbers and ISO-8601 text in numpy and every other
value once per distinct value."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, tzinfo
from operator import methodcaller

import numpy as np

from fedsec.data.flow_times import utc_timestamp
from fedsec.detect.arrow_text import json_float
from fedsec.detect.community import community_id, packed_address
from fedsec.detect.ecs_values import ip, port

#: ISO-8601 times numpy reads as pandas does (no offset, at most microseconds, the plausible
#: years 1970-2099 of :mod:`fedsec.data.time_text`).
ISO_TIME = re.compile(r"(?:19[7-9]\d|20\d\d)-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?Z?")
#: Epoch numbers written as plain decimals (Zeek's ``1709510796.630000``).
DECIMAL = re.compile(r"\d{1,20}(\.\d{1,9})?")


def by_distinct(values: list, convert: Callable[[object], object]) -> list:
    """``[convert(v) for v in values]``, calling ``convert`` once per distinct value (values of
    one type other than float only: ``1``, ``1.0`` and ``True`` are one dict key, and so are
    ``0.0`` and ``-0.0``, but not one value)."""
    kinds = {type(v) for v in values}
    if len(kinds) > 1 or float in kinds:
        return [convert(v) for v in values]
    found = {v: convert(v) for v in dict.fromkeys(values)}
    return [found[v] for v in values]


def floats(values: list[float]) -> list[str]:
    """Numbers as ``json.dumps`` writes them."""
    if np.isfinite(np.asarray(values, dtype=np.float64)).all():
        return list(map(float.__repr__, values))
    return [json_float(v) for v in values]


def python_round(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(v, digits)`` of each value, flattened: Python's correctly rounded decimal
    rounding, not numpy's. In numpy where the scaled value is far enough from a half for the
    scaling's error not to matter (then the rounded integer over ``10**digits`` is the double
    nearest the decimal, as Python's is); the rest by ``round``."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = flat * scale
        whole = np.rint(scaled)
        margin = np.abs(scaled) * 2.0**-50 + 1e-12
        safe = (np.abs(scaled) < 2.0**52) & (0.5 - np.abs(scaled - whole) > margin)
    out = np.where(safe, whole / scale, 0.0)
    for i in np.flatnonzero(~safe).tolist():
        out[i] = round(float(flat[i]), digits)
    return out


def rounded_texts(values: np.ndarray, digits: int) -> list[str]:
    """``json.dumps(round(v, digits))`` of each value, flattened."""
    return floats(python_round(values, digits).tolist())


def ips(values: list) -> list[str | None]:
    """``ip`` of each value (None: absent)."""
    return by_distinct(values, ip)


def ports(values: list) -> list[int | None]:
    """``port`` of each value (None: absent); integers and floats in numpy."""
    kinds = {type(v) for v in values if v is not None}
    numbers = _numbers(values) if kinds in ({int}, {float}) else None
    if numbers is not None:
        present = [v is not None for v in values]
        good = np.asarray(present) & (numbers >= 0) & (numbers <= 65_535)
        good &= numbers == np.floor(numbers)  # NaN and infinities fail both
        as_int = np.where(good, numbers, 0.0).astype(np.int64).tolist()
        return [n if ok else None for n, ok in zip(as_int, good.tolist(), strict=True)]
    return by_distinct(values, port)


def utc_times(values: list, naive_zone: tzinfo) -> list[str | None]:
    """``utc_timestamp`` of each value (None: absent or not a time)."""
    kinds = {type(v) for v in values if v is not None}
    numbers = _numbers(values) if kinds in ({int}, {float}) else None
    if numbers is not None:
        return _epoch_numbers(numbers, np.asarray([v is not None for v in values], bool))
    if kinds != {str}:
        return [utc_timestamp(v, naive_zone) for v in values]
    distinct = [v for v in dict.fromkeys(values) if v is not None]
    found = dict(zip(distinct, _texts(distinct, naive_zone), strict=True))
    found[None] = None
    return [found[v] for v in values]


def _numbers(values: list) -> np.ndarray | None:
    """Numbers as float64 (absent: 0), as ``float`` converts them; None if one overflows."""
    try:
        return np.asarray([0.0 if v is None else v for v in values], dtype=np.float64)
    except OverflowError:
        return None


def _epoch_numbers(numbers: np.ndarray, present: np.ndarray) -> list[str | None]:
    """Epoch seconds, milli-, micro- or nanoseconds by magnitude (``_from_epoch``)."""
    with np.errstate(invalid="ignore"):
        good = present & np.isfinite(numbers) & (numbers >= 0) & (numbers < 1e20)
    safe = np.where(good, numbers, 0.0)
    factor = np.select(
        [safe < 1e11, safe < 1e14, safe < 1e17], [1e6 / 1.0, 1e6 / 1e3, 1e6 / 1e6], 1e6 / 1e9
    )
    micros = np.rint(safe * factor).astype(np.int64)
    return _iso_micros(micros, good)


def _iso_micros(micros: np.ndarray, good: np.ndarray) -> list[str | None]:
    """``iso_utc`` of microseconds since the epoch: rounded half up to the millisecond."""
    texts = iso_millis(micros).tolist()
    return [t if ok else None for t, ok in zip(texts, good.tolist(), strict=True)]


def iso_millis(micros: np.ndarray) -> np.ndarray:
    """``iso_utc`` of microseconds since the epoch (a numpy array of texts)."""
    millis = ((micros + 500) // 1000).astype("datetime64[ms]")
    return np.char.add(np.datetime_as_string(millis, unit="ms"), "Z")


def _texts(distinct: list[str], naive_zone: tzinfo) -> list[str | None]:
    """Distinct texts: ISO-8601 and decimal ones in numpy, the others one by one."""
    utc = naive_zone is UTC or getattr(naive_zone, "key", None) == "UTC"
    out: list[str | None] = [None] * len(distinct)
    iso, decimal, other = [], [], []
    for i, text in enumerate(distinct):
        if ISO_TIME.fullmatch(text) and (utc or text.endswith("Z")):
            iso.append(i)
        elif DECIMAL.fullmatch(text):
            decimal.append(i)
        else:
            other.append(i)
    try:
        stamps = np.asarray([distinct[i].removesuffix("Z") for i in iso], dtype="datetime64[us]")
    except ValueError:  # a date numpy refuses (pandas too): one by one
        other += iso
    else:
        micros = stamps.astype(np.int64)
        for i, text in zip(iso, _iso_micros(micros, np.ones(len(iso), bool)), strict=True):
            out[i] = text
    numbers = np.asarray([float(distinct[i]) for i in decimal], dtype=np.float64)
    epochs = _epoch_numbers(numbers, np.ones(len(decimal), bool))
    for i, text in zip(decimal, epochs, strict=True):
        out[i] = text
    for i in other:
        out[i] = utc_timestamp(distinct[i], naive_zone)
    return out


#: One Community ID's hashed bytes (seed, lower endpoint first, transport, ports), big-endian.
_FLOW = np.dtype(
    [("seed", ">u2"), ("a", ">u4"), ("b", ">u4"), ("proto", "u1"), ("pad", "u1"),
     ("a_port", ">u2"), ("b_port", ">u2")]
)  # fmt: skip
_NUMBERS = {"tcp": 6, "udp": 17}


def community_ids(
    transports: list, src: list, sport: list, dst: list, dport: list
) -> list[str | None]:
    """``community_id`` of each flow (transport, addresses and ports; None: none), IPv4 flows
    packed in numpy and hashed one sha1 each, the others one by one."""
    out: list[str | None] = [None] * len(transports)
    packed = {a: packed_address(a) for a in dict.fromkeys([*src, *dst]) if a is not None}
    four: list[int] = []
    flows = zip(transports, src, sport, dst, dport, strict=True)
    for i, (name, a, a_port, b, b_port) in enumerate(flows):
        if name not in _NUMBERS or None in (a, a_port, b, b_port):
            continue
        if len(packed[a]) == len(packed[b]) == 4:
            four.append(i)
        else:
            out[i] = community_id(name, {"ip": a, "port": a_port}, {"ip": b, "port": b_port})
    ends = [[column[i] for i in four] for column in (src, sport, dst, dport)]
    names = [transports[i] for i in four]
    for i, text in zip(four, _v4_ids(names, *ends, packed), strict=True):
        out[i] = text
    return out


def _v4_ids(
    transports: list, src: list, sport: list, dst: list, dport: list, packed: dict
) -> list[str]:
    """The Community IDs of IPv4 flows."""
    if not transports:
        return []
    number = {a: int.from_bytes(p, "big") for a, p in packed.items() if len(p) == 4}
    a = np.asarray([number[x] for x in src], dtype=np.int64)
    b = np.asarray([number[x] for x in dst], dtype=np.int64)
    a_port, b_port = np.asarray(sport, dtype=np.int64), np.asarray(dport, dtype=np.int64)
    protocols = np.asarray([_NUMBERS[name] for name in transports], dtype=np.uint8)
    text = v4_digests(protocols, a, b, a_port, b_port).decode("ascii")
    return ["1:" + text[at : at + 27] + "=" for at in range(0, len(text), 28)]


def v4_digests(
    protocols: np.ndarray, a: np.ndarray, b: np.ndarray, a_port: np.ndarray, b_port: np.ndarray
) -> bytes:
    """The IPv4 flows' Community ID digests in base64, 28 characters each (the hash's 20 bytes
    and a zero: the first 27 characters are the ID's, then ``=``); addresses as integers."""
    swap = (a > b) | ((a == b) & (a_port > b_port))  # ``sorted``: address, then port
    flows = np.zeros(len(protocols), dtype=_FLOW)
    flows["a"], flows["b"] = np.where(swap, b, a), np.where(swap, a, b)
    flows["a_port"] = np.where(swap, b_port, a_port)
    flows["b_port"] = np.where(swap, a_port, b_port)
    flows["proto"] = protocols
    return base64.b64encode(padded_digests(hashlib.sha1, flows))


def padded_digests(hash_of: Callable, records: np.ndarray) -> bytes:
    """The digest of each record's bytes, each followed by zeros to a multiple of 3 bytes (so
    that the base64 of the whole is each digest's base64 one after the other)."""
    chunks = records.view(np.dtype(("V", records.dtype.itemsize))).tolist()
    digests = b"".join(map(methodcaller("digest"), map(hash_of, chunks)))
    size = hash_of().digest_size
    table = np.frombuffer(digests, dtype=np.uint8).reshape(len(chunks), size)
    return np.pad(table, ((0, 0), (0, -size % 3))).tobytes()

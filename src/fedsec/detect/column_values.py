"""The typed alert values of :mod:`fedsec.detect.ecs_values`, for a whole column of alerts at
once: each gives, value for value, what its scalar function gives (``tests/detect/
test_column_values.py``), converting epoch numbers and ISO-8601 text in numpy and every other
value once per distinct value."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, tzinfo

import numpy as np

from fedsec.detect.ecs_values import ip, port, utc_timestamp

#: ISO-8601 times numpy reads as pandas does (no offset, at most microseconds, years 1000-2999).
ISO_TIME = re.compile(r"[12]\d{3}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?Z?")
#: Epoch numbers written as plain decimals (Zeek's ``1709510796.630000``).
DECIMAL = re.compile(r"\d{1,20}(\.\d{1,9})?")


def by_distinct(values: list, convert: Callable[[object], object]) -> list:
    """``[convert(v) for v in values]``, calling ``convert`` once per distinct value (values of
    one type only: ``1``, ``1.0`` and ``True`` are one dict key, but not one value)."""
    if len({type(v) for v in values}) > 1:
        return [convert(v) for v in values]
    found = {v: convert(v) for v in dict.fromkeys(values)}
    return [found[v] for v in values]


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
    millis = ((micros + 500) // 1000).astype("datetime64[ms]")
    texts = np.char.add(np.datetime_as_string(millis, unit="ms"), "Z").tolist()
    return [t if ok else None for t, ok in zip(texts, good.tolist(), strict=True)]


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

"""One type per alert field whatever the input format: times as UTC ISO-8601 strings, addresses
checked, ports as integers, the transport by name.

Readers keep context as the file holds it (Zeek TSV: text; Zeek JSON: numbers; NetFlow: epoch
milliseconds; CIC-IDS2017: local text without a zone; pcap: epoch seconds); these functions
turn each into the one typed form an alert carries, or None when the value is not one."""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fedsec.core.standard_streams import STANDARD_INPUT_NAME
from fedsec.data.canonical import PROTOCOL_NUMBERS
from fedsec.detect.time_text import text_time, time_doubt

#: Epoch magnitudes: below 1e11 seconds (until year 5138), then milli-, micro-, nanoseconds.
EPOCH_UNITS: tuple[tuple[float, float], ...] = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6))
TRANSPORTS = frozenset({"tcp", "udp", "icmp", "ipv6-icmp", "sctp", "gre", "esp", "ah"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IANA_NUMBER = {name: str(number) for number, name in PROTOCOL_NUMBERS.items() if number != 58}


def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``UTC``, ``America/Halifax``), or a ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. UTC)") from error


def iso_utc(moment: datetime) -> str:
    """``2017-07-07T18:56:33.850Z``: UTC, rounded to the millisecond (ECS ``date``), the ``Z``
    suffix."""
    rounded = moment + timedelta(microseconds=500)
    rounded -= timedelta(microseconds=rounded.microsecond % 1000)
    return rounded.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def utc_timestamp(value: object, naive_zone: tzinfo) -> str | None:
    """A context time as UTC ISO-8601, or None. Numbers (and numeric text) are epoch seconds,
    milli-, micro- or nanoseconds by magnitude; text is parsed, a time without a zone being in
    ``naive_zone``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    return _from_text(str(value).strip(), naive_zone)


def unreadable_time(value: object) -> bool:
    """Whether a context time is given (not None, not blank text) but is not a time."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    return utc_timestamp(value, UTC) is None  # whether text reads as a time: not by its zone


def alert_file(source_file: str) -> str:
    """The file an alert's row came from, absolute (none: the row came from standard input)."""
    return os.path.abspath(source_file) if source_file else STANDARD_INPUT_NAME


def time_refusal(value: object, row: object, column: str = "timestamp") -> str:
    """Why a flagged row whose time is unreadable is refused (``column``: the file's name of
    its time column): an alert's ``@timestamp`` is its flow's own time, never an invented
    one, nor a guessed one."""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    why = time_doubt(str(value).strip()) if isinstance(value, str) else None
    return (
        f"column {column!r} holds {shown}, {why or 'not a time'} (data row {row}): an alert's "
        "@timestamp is the flow's own time, never invented nor guessed; fix the value (or "
        "leave it empty for a flow without a time), or declare the file's layout in the "
        "mapping's time_format (docs/data.md)"
    )


def _from_epoch(number: float) -> str | None:
    """Counted in whole microseconds, so that 1709510796.63 s and 1709510796630 ms agree."""
    if not math.isfinite(number) or number < 0 or number >= 1e20:
        return None
    per_second = next((p for limit, p in EPOCH_UNITS if number < limit), 1e9)
    micros = round(number * (1e6 / per_second))
    return iso_utc(EPOCH + timedelta(microseconds=micros))


@lru_cache(maxsize=65_536)
def _from_text(text: str, naive_zone: tzinfo) -> str | None:
    """Parsed once per distinct text (a scan repeats the same second thousands of times);
    numeric text is an epoch time, other text a time only when its form leaves no doubt
    (:mod:`fedsec.detect.time_text`)."""
    with contextlib.suppress(ValueError):
        return _from_epoch(float(text))
    moment = text_time(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    try:
        return iso_utc(moment)
    except (ValueError, OverflowError):
        return None


def ip(value: object) -> str | None:
    """An IPv4/IPv6 address in its canonical text, or None (Zeek's ``-``, blanks, garbage)."""
    return None if value is None else _address(str(value).strip())


@lru_cache(maxsize=65_536)
def _address(text: str) -> str | None:
    """Parsed once per distinct text (alerts repeat the same hosts). An IPv6 zone index is
    left out (Elasticsearch's ``ip`` type refuses it; :func:`ip_zone` keeps it), an
    IPv4-mapped address is written as the IPv4 address (as the STIX export does)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if address.scope_id is not None:
            return str(ipaddress.IPv6Address(text.partition("%")[0]))
    return str(address)


def ip_zone(value: object) -> str | None:
    """The zone index of an IPv6 address (``eth0`` of ``fe80::1%eth0``), or None."""
    return None if value is None else _zone(str(value).strip())


@lru_cache(maxsize=65_536)
def _zone(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "scope_id", None) or None


#: The ``fedsec`` field that keeps each side's zone index, by its context column.
ZONE_FIELDS = (("src_ip", "source_zone"), ("dst_ip", "destination_zone"))


def port(value: object) -> int | None:
    """A port as an int (``"80"``, ``80.0`` and ``80`` alike), or None out of 0-65535."""
    if value is None or isinstance(value, bool):
        return None
    if type(value) is int:  # the usual case, read as a number: no text round trip
        return value if 0 <= value <= 65_535 else None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= 65_535:
        return None
    return int(number)


#: The transports an application protocol runs over (others: TCP only). A service class is
#: read from the port alone (a model feature, kept as it was trained): a UDP flow to port 80
#: is not HTTP, and an alert names no application protocol for it.
PROTOCOL_TRANSPORTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("dns", "snmp", "ldap", "rdp"), frozenset({"tcp", "udp"})),
    **dict.fromkeys(("dhcp", "ntp"), frozenset({"udp"})),
}
TCP = frozenset({"tcp"})


def app_protocol(protocol: str | None, transport: str | None) -> str | None:
    """``protocol`` (read from the port) when the flow's transport carries it (or is not
    known), else None."""
    if protocol is None or transport is None:
        return protocol
    return protocol if transport in PROTOCOL_TRANSPORTS.get(protocol, TCP) else None


def transport(value: object) -> str | None:
    """The transport by its lower-case name (``tcp``), from a name or an IANA number."""
    return None if value is None else _transport(str(value))


@lru_cache(maxsize=1024)
def _transport(text: str) -> str | None:
    """Named once per distinct text (a file holds a handful of transports)."""
    text = text.strip().lower()
    with contextlib.suppress(ValueError, OverflowError):
        text = PROTOCOL_NUMBERS.get(int(float(text)), text)
    return text if text in TRANSPORTS else None

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
from datetime import tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fedsec.core.standard_streams import STANDARD_INPUT_NAME
from fedsec.data.canonical import PROTOCOL_NUMBERS

TRANSPORTS = frozenset({"tcp", "udp", "icmp", "ipv6-icmp", "sctp", "gre", "esp", "ah"})
IANA_NUMBER = {name: str(number) for number, name in PROTOCOL_NUMBERS.items() if number != 58}


def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``UTC``, ``America/Halifax``), or a ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. UTC)") from error


def alert_file(source_file: str) -> str:
    """The file an alert's row came from, absolute (none: the row came from standard input)."""
    return os.path.abspath(source_file) if source_file else STANDARD_INPUT_NAME


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

"""Checks of the free-text fields of an alert read back (its family, organization and
addresses): they reach the console, the incidents report and STIX bundles, so a line whose
family is not a family name, whose organization holds control or invisible formatting
characters (terminal escapes, bidirectional overrides), or whose address is not an IP
address (an ``.ip`` field), or whose address is neither an IP address nor a host name
(``source.address``, EVE's ``fedsec.src_host``, a flat alert's ``src_ip``), is refused with its
file and line, as any other malformed alert line is."""

from __future__ import annotations

import ipaddress
import re

from fedsec.core.console_text import holds_control, printable
from fedsec.core.errors import InputError
from fedsec.data.family_names import FAMILY_RULE, is_family_name
from fedsec.detect.alert_endpoints import host_name

#: An IPv6 zone index (``eth0`` of ``fe80::1%eth0``): ipaddress takes any text there.
ZONE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def family_name(family: str, where: str) -> str:
    """``family``, refused unless it is a family name (:mod:`fedsec.data.family_names`)."""
    if not is_family_name(family):
        raise InputError(
            where, f"alert family '{printable(family)}' is not a family name ({FAMILY_RULE})"
        )
    return family


def organization(name: str | None, where: str) -> str | None:
    """``name`` (None: absent), refused when it holds a control or formatting character (Unicode
    categories Cc and Cf: escapes, bidirectional overrides, zero-width characters)."""
    if name is not None and holds_control(name):
        raise InputError(
            where,
            f"alert organization '{printable(name)}' holds control or formatting characters",
        )
    return name


def ip_address(text: str | None, field: str, where: str) -> str | None:
    """``text`` (None: absent), refused unless it is an IPv4 or IPv6 address."""
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    zone = getattr(address, "scope_id", None)
    if address is None or (zone is not None and not ZONE.fullmatch(zone)):
        raise InputError(where, f"alert field {field} is '{printable(text)}', not an IP address")
    return text


def ip_or_host(text: str | None, field: str, where: str) -> tuple[str | None, str | None]:
    """``text`` as ``(IP address, None)`` or ``(None, host name)`` (both None: absent), refused
    when it is neither (a host name: RFC 1123 labels, the last not all digits)."""
    if text is None:
        return None, None
    if host_name(text):
        return None, text
    try:
        return ip_address(text, field, where), None
    except InputError:
        shown = printable(text)
        said = f"alert field {field} is '{shown}', neither an IP address nor a host name"
        raise InputError(where, said) from None

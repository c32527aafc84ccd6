"""Which addresses and host names belong to the organization (internal) and which are the
outside world."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from fedsec.core.errors import ConfigError
from fedsec.detect.alert_endpoints import host_name

#: Private, loopback, link-local, shared (CGNAT) and unique-local ranges: internal by default.
DEFAULT_INTERNAL: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
)

#: Domains whose names never leave a site (RFC 6761/6762/8375 special-use names, ICANN's
#: ``internal``, and the usual private suffixes): internal by default, as a name of one label is.
DEFAULT_INTERNAL_NAMES: tuple[str, ...] = (
    "local",
    "localhost",
    "localdomain",
    "internal",
    "intranet",
    "home.arpa",
    "lan",
    "home",
    "corp",
    "private",
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Networks:
    """The organization's own address ranges, and its own domains (``names``: a name is
    internal when it is one of them or under one, or under :data:`DEFAULT_INTERNAL_NAMES`)."""

    def __init__(self, cidrs: Iterable[str] = DEFAULT_INTERNAL, names: Iterable[str] = ()) -> None:
        self.cidrs = tuple(cidrs)
        self.names = tuple(internal_domain(name) for name in names)
        self.suffixes = tuple(f".{d}" for d in (*DEFAULT_INTERNAL_NAMES, *self.names))
        self.networks: list[Network] = []
        for cidr in self.cidrs:
            try:
                self.networks.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError as error:
                raise ConfigError(f"internal network {cidr!r}: {error}") from error
        self.is_internal = lru_cache(maxsize=1 << 16)(self._is_internal)

    def _is_internal(self, address: str | None) -> bool | None:
        """True inside the ranges, False outside, None when ``address`` is not an address."""
        if address is None:
            return None
        ip = canonical_address(address)
        if ip is None:
            return None
        return any(ip.version == n.version and ip in n for n in self.networks)

    def is_internal_name(self, name: str) -> bool:
        """Whether host name ``name`` is the organization's: of one label (``ws-0142``, never
        a public name), or in one of its domains or a special-use one."""
        found = f".{name.lower().removesuffix('.')}"
        return found.count(".") == 1 or found.endswith(self.suffixes)


def internal_domain(name: str) -> str:
    """``name`` (an ``--internal-domain``) in lower case, refused unless it is a domain name."""
    domain = name.strip().lower().removesuffix(".").removeprefix("*.").removeprefix(".")
    if not host_name(domain):
        raise ConfigError(f"internal domain {name!r}: not a domain name (e.g. corp.example)")
    return domain


def canonical_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``address`` parsed, an IPv4-mapped IPv6 address (``::ffff:10.4.0.83``, as dual-stack
    sockets log IPv4 peers) as the IPv4 address it is; None when it is not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip

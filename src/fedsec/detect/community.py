"""The Community ID of a flow (v1, seed 0): the hash Zeek and Suricata write, so that an alert
joins the sensor's own records of the flow (https://github.com/corelight/community-id-spec)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct
from functools import lru_cache


@lru_cache(maxsize=65_536)
def packed_address(address: str) -> bytes:
    """The address's bytes in network order (4 for IPv4, 16 for IPv6)."""
    return ipaddress.ip_address(address).packed


def community_id(name: str | None, source: dict, destination: dict) -> str | None:
    """The flow's Community ID (v1, seed 0), the hash Zeek and Suricata also write, so an alert
    joins the sensor's own records of that flow; for TCP and UDP flows with both endpoints.
    sha1 over seed, the two endpoints in order (lower address, then port, first), transport."""
    number = {"tcp": 6, "udp": 17}.get(name or "")
    ends = (source.get("ip"), source.get("port"), destination.get("ip"), destination.get("port"))
    if number is None or None in ends:
        return None
    first, second = (packed_address(ends[0]), ends[1]), (packed_address(ends[2]), ends[3])
    if len(first[0]) != len(second[0]):
        return None
    (a, a_port), (b, b_port) = sorted((first, second))
    data = struct.pack("!H", 0) + a + b + bytes((number, 0)) + struct.pack("!HH", a_port, b_port)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")

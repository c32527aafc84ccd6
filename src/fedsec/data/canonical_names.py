"""Canonical fields from a column's name, for ``fedsec inspect``: the exact names of the usual
flow meters (:data:`CANONICAL_NAMES`), else a guess from the column's words when none matches
(``duration_ms``, ``bytes_out``, ``pkts_in``, ``syn_cnt``), each with the factor to the
canonical unit its name states, and a note of what to check."""

from __future__ import annotations

from fedsec.data.leaks import words

#: Column names (lower case, runs of non-alphanumerics as one space) of the canonical fields in
#: the usual flow meters, with the factor to the canonical unit.
CANONICAL_NAMES: dict[str, tuple[str, float]] = {
    "flow duration": ("duration_s", 1e-6),  # CICFlowMeter: microseconds
    "flow duration milliseconds": ("duration_s", 1e-3),  # NetFlow v9 (NF-v2)
    "duration": ("duration_s", 1.0),
    "dur": ("duration_s", 1.0),  # UNSW-NB15 / Argus
    "duration s": ("duration_s", 1.0),
    **dict.fromkeys(
        [
            "total fwd packets",
            "total fwd packet",
            "tot fwd pkts",
            "in pkts",
            "spkts",
            "orig pkts",
            "fwd pkts",
        ],
        ("fwd_pkts", 1.0),
    ),
    **dict.fromkeys(
        [
            "total backward packets",
            "total bwd packets",
            "tot bwd pkts",
            "out pkts",
            "dpkts",
            "resp pkts",
            "bwd pkts",
        ],
        ("bwd_pkts", 1.0),
    ),
    **dict.fromkeys(
        [
            "total length of fwd packets",
            "total length of fwd packet",
            "totlen fwd pkts",
            "in bytes",
            "sbytes",
            "orig bytes",
        ],
        ("fwd_bytes", 1.0),
    ),
    **dict.fromkeys(
        [
            "total length of bwd packets",
            "total length of bwd packet",
            "totlen bwd pkts",
            "out bytes",
            "dbytes",
            "resp bytes",
        ],
        ("bwd_bytes", 1.0),
    ),
    "fwd bytes": ("fwd_bytes", 1.0),
    "bwd bytes": ("bwd_bytes", 1.0),
    **{
        f"{flag} flag {suffix}": (f"flag_{flag}", 1.0)
        for flag in ("syn", "ack", "fin", "rst", "psh", "urg")
        for suffix in ("count", "cnt")
    },
    "tcp flags": ("tcp_flags", 1.0),
    "protocol": ("protocol", 1.0),
    "proto": ("protocol", 1.0),
    **dict.fromkeys(
        ["destination port", "dst port", "l4 dst port", "dport", "id resp p"], ("dst_port", 1.0)
    ),
    "service": ("service", 1.0),
}


DURATION_WORDS = frozenset({"duration", "dur", "elapsed"})
BYTE_WORDS = frozenset({"bytes", "byte", "octets", "octet"})
PACKET_WORDS = frozenset({"pkts", "pkt", "packets", "packet"})
FLAG_NAMES = frozenset({"syn", "ack", "fin", "rst", "psh", "urg"})
FLAG_COUNT_WORDS = frozenset({"cnt", "count", "flag", "flags"})
FORWARD_WORDS = frozenset({"out", "fwd", "forward", "orig", "src", "sent", "tx", "up", "outbound"})
BACKWARD_WORDS = frozenset({"in", "bwd", "backward", "resp", "dst", "recv", "rx", "down"})
#: A statistic or rate of a quantity, not the flow's total (``max_pkt_out``, ``bytes_per_s``).
STATISTIC_WORDS = frozenset(
    {"max", "min", "mean", "avg", "std", "var", "rate", "per", "ps", "iat", "header", "size"}
)
#: The unit words of a duration and their factor to seconds.
UNITS: dict[str, float] = {
    **dict.fromkeys(["s", "sec", "secs", "second", "seconds"], 1.0),
    **dict.fromkeys(["ms", "msec", "millis", "milliseconds", "millisecond"], 1e-3),
    **dict.fromkeys(["us", "usec", "micros", "microseconds", "microsecond"], 1e-6),
    **dict.fromkeys(["ns", "nsec", "nanos", "nanoseconds", "nanosecond"], 1e-9),
}


def guess_field(name: str) -> tuple[str, float, str] | None:
    """(canonical field, factor to its unit, what to check) that ``name`` plainly names."""
    parts = words(name)
    found = set(parts)
    if found & STATISTIC_WORDS:
        return None
    if found & DURATION_WORDS:
        return _duration(parts)
    flags = found & FLAG_NAMES
    if len(flags) == 1 and found & FLAG_COUNT_WORDS and not found & (BYTE_WORDS | PACKET_WORDS):
        return f"flag_{flags.pop()}", 1.0, ""
    for quantity, kinds in (("bytes", BYTE_WORDS), ("pkts", PACKET_WORDS)):
        if found & kinds:
            return _directed(found, quantity)
    return None


def _duration(parts: list[str]) -> tuple[str, float, str]:
    units = [UNITS[p] for p in parts if p in UNITS]
    if len(units) != 1:
        return "duration_s", 1.0, "CHECK: unit to seconds (the name gives none)"
    unit = next(p for p in parts if p in UNITS)
    return "duration_s", units[0], f"CHECK: {unit} to seconds, from the name"


def _directed(found: set[str], quantity: str) -> tuple[str, float, str] | None:
    forward, backward = bool(found & FORWARD_WORDS), bool(found & BACKWARD_WORDS)
    if forward == backward:
        return None
    side = "fwd" if forward else "bwd"
    return f"{side}_{quantity}", 1.0, "CHECK: direction (fwd: from the flow's initiator)"

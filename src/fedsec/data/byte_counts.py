"""What the canonical ``fwd_bytes``/``bwd_bytes`` count, by reader: **payload** bytes (above the
TCP/UDP header: CICFlowMeter, NFStream captures, NSL-KDD) or **IP** bytes (headers included:
Zeek's ``*_ip_bytes``, NetFlow's ``IN_BYTES``/``OUT_BYTES``). A flow of 10 full-size packets
differs by some 400 bytes between the two, a SYN scan's by all of them (0 payload bytes, 40+
IP bytes each): canonical byte counts of the two conventions do not mix in one model. A mapped
file's convention is its mapping's ``byte_counts``; the other readers' is unknown."""

from __future__ import annotations

from collections.abc import Iterable

from fedsec.data.mapping import Mapping

PAYLOAD, IP = "payload", "ip"
#: The convention of each reader that states one (Zeek: IP bytes, else payload when a log
#: lacks ``orig_ip_bytes``/``resp_ip_bytes``).
READER_BYTE_COUNTS: dict[str, str] = {
    "cicids2017": PAYLOAD,
    "pcap": PAYLOAD,
    "nsl-kdd": PAYLOAD,
    "zeek": IP,
    "nf-v2": IP,
}


def byte_counts(fmt: str, mapping: Mapping | None = None) -> str | None:
    """What a format's (a mapped file's: its mapping's) byte counts count; None: not stated."""
    if fmt == "mapped":
        return None if mapping is None else mapping.byte_counts
    return READER_BYTE_COUNTS.get(fmt)


def mixed(named: Iterable[tuple[str, str | None]]) -> str | None:
    """A note when sources (name, convention) state different conventions; None: they agree."""
    known = [(name, counts) for name, counts in named if counts is not None]
    if len({counts for _, counts in known}) < 2:
        return None
    listed = ", ".join(f"{name}: {counts} bytes" for name, counts in known)
    return (
        f"canonical byte counts mix conventions ({listed}): fwd_bytes/bwd_bytes and the rates "
        "and packet sizes derived from them mean different things across these sources, so a "
        "canonical model learns the reader as much as the traffic (docs/data.md, "
        '"Byte counts"); use one convention, or train on the native view'
    )


def scoring_note(view: str, provenance: dict, fmt: str, mapping: Mapping | None) -> str | None:
    """A note when a canonical model trained on one convention scores the other."""
    trained = provenance.get("byte_counts") or []
    scored = byte_counts(fmt, mapping)
    if view != "canonical" or scored is None or len(trained) != 1 or trained[0] == scored:
        return None
    return (
        f"the model's canonical byte counts are {trained[0]} bytes, this input's ({fmt}) "
        f"{scored} bytes: fwd_bytes/bwd_bytes and what derives from them mean other things "
        'here, so its scores may too (docs/data.md, "Byte counts")'
    )

"""NetFlow-v9-style CSV with the 43 standard NF-v2 fields (Sarhan et al.) + Label + Attack.

Fields a flow record does not carry are derived the way a NetFlow exporter would see them, and
approximated where a record has no per-packet detail (documented per field below): packet-size
histograms put every packet of a direction at that direction's mean size, TTLs and window sizes
follow the sender's address, ``L7_PROTO`` is an nDPI-style protocol id from the port class.
``FLOW_START_MILLISECONDS`` (an NF-v3 field) is added so the flow's start survives as context.
``Attack`` holds the record's label (``Benign`` for benign flows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.data.canonical import service_from_port
from fedsec.data.writers._records import (
    HEADER_BYTES,
    PROTOCOL_NUMBER,
    counters,
    is_private,
    tcp_bitmask,
    write_frame_csv,
)

#: Approximate nDPI protocol ids per service class (0 = unknown).
L7_OF_SERVICE: dict[str, float] = {
    "http": 7.0,
    "https": 91.0,
    "dns": 5.0,
    "ssh": 92.0,
    "smb": 41.0,
    "rdp": 88.0,
    "ntp": 9.0,
    "ldap": 112.0,
    "sql": 114.0,
    "smtp": 3.0,
    "mail": 4.0,
    "mqtt": 222.0,
    "modbus": 147.0,
    "dnp3": 244.0,
    "s7": 184.0,
    "telnet": 77.0,
    "ftp": 1.0,
    "snmp": 14.0,
    "vnc": 89.0,
}
SIZE_BINS: tuple[tuple[str, float, float], ...] = (
    ("NUM_PKTS_UP_TO_128_BYTES", 0, 128),
    ("NUM_PKTS_128_TO_256_BYTES", 128, 256),
    ("NUM_PKTS_256_TO_512_BYTES", 256, 512),
    ("NUM_PKTS_512_TO_1024_BYTES", 512, 1024),
    ("NUM_PKTS_1024_TO_1514_BYTES", 1024, 1e9),
)


def _address_hash(addresses: pd.Series) -> np.ndarray:
    return pd.util.hash_array(addresses.astype(str).to_numpy(dtype=object)).astype(np.int64)


def to_frame(records: pd.DataFrame) -> pd.DataFrame:
    """The rows exactly as the CSV holds them (46 columns)."""
    c = counters(records)
    proto = records["protocol"].astype(str).to_numpy()
    tcp = proto == "tcp"
    fwd_mean = np.where(c["fwd_pkts"] > 0, c["fwd_bytes"] / np.maximum(c["fwd_pkts"], 1), 0)
    bwd_mean = np.where(c["bwd_pkts"] > 0, c["bwd_bytes"] / np.maximum(c["bwd_pkts"], 1), 0)
    flags = tcp_bitmask(records)
    src_hash, dst_hash = _address_hash(records["src_ip"]), _address_hash(records["dst_ip"])
    service = service_from_port(records["dst_port"])
    header = pd.Series(proto).map(HEADER_BYTES).fillna(28).to_numpy()
    longest, shortest = _packet_lengths(c, fwd_mean, bwd_mean, header, tcp)
    ttl = _ttl(records["src_ip"], src_hash)
    out = {
        **_endpoint_fields(records, c, proto, service),
        **_tcp_flag_fields(c, flags, tcp),
        **_duration_fields(records, c),
        "MIN_TTL": ttl,
        "MAX_TTL": ttl,
        "LONGEST_FLOW_PKT": longest,
        "SHORTEST_FLOW_PKT": shortest,
        "MIN_IP_PKT_LEN": shortest,
        "MAX_IP_PKT_LEN": longest,
        **_rate_fields(records, c, fwd_mean, flags, tcp),
        **_size_bin_fields(c, fwd_mean, bwd_mean),
        **_window_fields(c, tcp, src_hash, dst_hash),
        **_icmp_dns_fields(records, c, proto == "icmp", (service == "dns").to_numpy(), src_hash),
        "FTP_COMMAND_RET_CODE": 0.0,
        "FLOW_START_MILLISECONDS": np.rint(records["ts"].to_numpy(dtype=float) * 1e3).astype(
            np.int64
        ),
    }
    frame = pd.DataFrame(out)
    if "label" in records:
        label = records["label"].astype(str)
        benign = label.str.lower().isin(["benign", "normal"]).to_numpy()
        frame["Label"] = np.where(benign, 0, 1)
        frame["Attack"] = np.where(benign, "Benign", label.to_numpy())
    return frame


def _endpoint_fields(
    records: pd.DataFrame, c: dict[str, np.ndarray], proto: np.ndarray, service: pd.Series
) -> dict[str, object]:
    """Addresses, ports, protocols, and each direction's bytes and packets."""
    return {
        "IPV4_SRC_ADDR": records["src_ip"].to_numpy(),
        "L4_SRC_PORT": records["src_port"].to_numpy(),
        "IPV4_DST_ADDR": records["dst_ip"].to_numpy(),
        "L4_DST_PORT": records["dst_port"].to_numpy(),
        "PROTOCOL": pd.Series(proto).map(PROTOCOL_NUMBER).fillna(0).astype(np.int64).to_numpy(),
        "L7_PROTO": service.map(L7_OF_SERVICE).fillna(0.0).to_numpy(dtype=float),
        "IN_BYTES": c["fwd_bytes"],
        "IN_PKTS": c["fwd_pkts"],
        "OUT_BYTES": c["bwd_bytes"],
        "OUT_PKTS": c["bwd_pkts"],
    }


def _tcp_flag_fields(
    c: dict[str, np.ndarray], flags: np.ndarray, tcp: np.ndarray
) -> dict[str, object]:
    """The flow's TCP flags, and each side's (0 for a flow that is not TCP)."""
    rejected = ((flags & 4) > 0) & ((flags & 16) == 0)
    client = np.where(rejected, 2, flags)  # a rejected SYN: the client only sent SYN
    server = np.where(c["bwd_pkts"] == 0, 0, np.where(rejected, 4, flags & ~4))
    return {
        "TCP_FLAGS": flags,
        "CLIENT_TCP_FLAGS": np.where(tcp, client, 0),
        "SERVER_TCP_FLAGS": np.where(tcp, server, 0),
    }


def _duration_fields(records: pd.DataFrame, c: dict[str, np.ndarray]) -> dict[str, object]:
    """The flow's duration in milliseconds, each direction's (0 for an unanswered flow)."""
    duration_ms = np.rint(records["duration_s"].to_numpy(dtype=float) * 1e3).astype(np.int64)
    return {
        "FLOW_DURATION_MILLISECONDS": duration_ms,
        "DURATION_IN": duration_ms,
        "DURATION_OUT": np.where(c["bwd_pkts"] > 0, duration_ms, 0),
    }


def _rate_fields(
    records: pd.DataFrame,
    c: dict[str, np.ndarray],
    fwd_mean: np.ndarray,
    flags: np.ndarray,
    tcp: np.ndarray,
) -> dict[str, object]:
    """Bytes per second, retransmissions (a repeated bare SYN) and average throughputs."""
    seconds = np.maximum(records["duration_s"].to_numpy(dtype=float), 1e-3)
    retransmitted = np.where(tcp & (flags == 2) & (c["fwd_pkts"] > 1), c["fwd_pkts"] - 1, 0)
    return {
        "SRC_TO_DST_SECOND_BYTES": np.round(c["fwd_bytes"] / np.maximum(seconds, 1.0), 3),
        "DST_TO_SRC_SECOND_BYTES": np.round(c["bwd_bytes"] / np.maximum(seconds, 1.0), 3),
        "RETRANSMITTED_IN_BYTES": np.rint(retransmitted * fwd_mean).astype(np.int64),
        "RETRANSMITTED_IN_PKTS": retransmitted,
        "RETRANSMITTED_OUT_BYTES": 0,
        "RETRANSMITTED_OUT_PKTS": 0,
        "SRC_TO_DST_AVG_THROUGHPUT": np.rint(c["fwd_bytes"] * 8 / seconds).astype(np.int64),
        "DST_TO_SRC_AVG_THROUGHPUT": np.rint(c["bwd_bytes"] * 8 / seconds).astype(np.int64),
    }


def _size_bin_fields(
    c: dict[str, np.ndarray], fwd_mean: np.ndarray, bwd_mean: np.ndarray
) -> dict[str, object]:
    """Packet-size histogram: every packet of a direction at that direction's mean size."""
    return {
        name: np.where((fwd_mean > low) & (fwd_mean <= high), c["fwd_pkts"], 0)
        + np.where((bwd_mean > low) & (bwd_mean <= high), c["bwd_pkts"], 0)
        for name, low, high in SIZE_BINS
    }


def _window_fields(
    c: dict[str, np.ndarray], tcp: np.ndarray, src_hash: np.ndarray, dst_hash: np.ndarray
) -> dict[str, object]:
    """Largest TCP window each way, by the sender's address (0 when not TCP or unanswered)."""
    return {
        "TCP_WIN_MAX_IN": np.where(tcp, np.where(src_hash % 2 == 0, 64240, 65535), 0),
        "TCP_WIN_MAX_OUT": np.where(
            tcp & (c["bwd_pkts"] > 0), np.where(dst_hash % 2 == 0, 65160, 29200), 0
        ),
    }


def _icmp_dns_fields(
    records: pd.DataFrame,
    c: dict[str, np.ndarray],
    icmp: np.ndarray,
    dns: np.ndarray,
    src_hash: np.ndarray,
) -> dict[str, object]:
    """ICMP type (carried in the source port) and DNS query fields (0 for other flows)."""
    src_port = records["src_port"].to_numpy(dtype=np.int64)
    return {
        "ICMP_TYPE": np.where(icmp, src_port * 256, 0),
        "ICMP_IPV4_TYPE": np.where(icmp, src_port, 0),
        "DNS_QUERY_ID": np.where(dns, (src_hash ^ records["src_port"].to_numpy()) % 65536, 0),
        "DNS_QUERY_TYPE": np.where(dns, 1, 0),
        "DNS_TTL_ANSWER": np.where(dns & (c["bwd_pkts"] > 0), 300, 0),
    }


def _packet_lengths(
    c: dict[str, np.ndarray],
    fwd_mean: np.ndarray,
    bwd_mean: np.ndarray,
    header: np.ndarray,
    tcp: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Longest and shortest IP packet: the larger mean size plus spread, and a bare TCP
    segment when a TCP flow has more than the handshake's packets."""
    longest = np.minimum(np.rint(np.maximum(fwd_mean, bwd_mean) * 1.2), 1514).astype(np.int64)
    answered_mean = np.where(c["bwd_pkts"] > 0, bwd_mean, fwd_mean)
    smallest_mean = np.rint(np.minimum(fwd_mean, answered_mean))
    several = (c["fwd_pkts"] + c["bwd_pkts"]) > 2
    shortest = np.where(several & tcp, header, smallest_mean).astype(np.int64)
    return np.maximum(longest, shortest), shortest


def _ttl(addresses: pd.Series, hashes: np.ndarray) -> np.ndarray:
    """Initial TTL by the sender's OS (64/128), minus hops for senders outside the network."""
    private = is_private(addresses)
    initial = np.where(hashes % 3 == 0, 128, 64)
    return np.where(private, initial, initial - 6 - hashes % 18).astype(np.int64)


def write(records: pd.DataFrame, path: Path) -> Path:
    if "label" not in records:
        raise ValueError("NF-v2 files carry Label and Attack columns: records need a label")
    return write_frame_csv(to_frame(records), path)

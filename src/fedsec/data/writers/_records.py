"""Flow records shared by the writers: required columns and derived per-flow values."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core import atomic
from fedsec.data.canonical import FLAG_COLUMNS

RECORD_COLUMNS: tuple[str, ...] = (
    "ts",
    "flow_id",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "duration_s",
    "fwd_bytes",
    "bwd_bytes",
    "fwd_pkts",
    "bwd_pkts",
    *FLAG_COLUMNS,
)
#: NetFlow cumulative TCP flag bits.
FLAG_BITS: dict[str, int] = {
    "flag_fin": 1,
    "flag_syn": 2,
    "flag_rst": 4,
    "flag_psh": 8,
    "flag_ack": 16,
    "flag_urg": 32,
}
PROTOCOL_NUMBER: dict[str, int] = {"tcp": 6, "udp": 17, "icmp": 1}
HEADER_BYTES: dict[str, int] = {"tcp": 40, "udp": 28, "icmp": 28}


def check_records(records: pd.DataFrame) -> None:
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"flow records lack columns: {missing}")


def tcp_bitmask(records: pd.DataFrame) -> np.ndarray:
    """Cumulative TCP flags as a NetFlow bitmask (0 for non-TCP flows)."""
    mask = np.zeros(len(records), dtype=np.int64)
    for column, bit in FLAG_BITS.items():
        mask |= np.where(records[column].to_numpy(dtype=float) > 0, bit, 0)
    return mask


def counters(records: pd.DataFrame) -> dict[str, np.ndarray]:
    """Packet and byte counts as integers."""
    return {
        c: np.rint(records[c].to_numpy(dtype=float)).astype(np.int64)
        for c in ("fwd_pkts", "bwd_pkts", "fwd_bytes", "bwd_bytes")
    }


def iso_times(ts: pd.Series) -> np.ndarray:
    """Epoch seconds -> ISO 8601 UTC strings with milliseconds (vectorized)."""
    stamps = (ts.to_numpy(dtype=float) * 1e3).round().astype("datetime64[ms]")
    return np.datetime_as_string(stamps, unit="ms", timezone="UTC")


def is_private(addresses: pd.Series) -> np.ndarray:
    """RFC 1918 IPv4 addresses (what Zeek's ``local_orig``/``local_resp`` mark)."""
    text = addresses.astype(str)
    second = pd.to_numeric(text.str.split(".", n=2).str[1], errors="coerce")
    return (
        text.str.startswith("10.")
        | text.str.startswith("192.168.")
        | (text.str.startswith("172.") & second.between(16, 31))
    ).to_numpy()


def write_frame_csv(frame: pd.DataFrame, path: Path, **options: object) -> Path:
    """A frame as CSV, atomically."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", **options)
    atomic.write_text(path, buffer.getvalue())
    return path

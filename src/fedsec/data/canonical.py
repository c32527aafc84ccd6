"""The canonical flow schema: one feature view every flow source can fill.

Organizations run different telemetry (CICFlowMeter, NetFlow v9, UNSW/Argus, Zeek, KDD-style
connection records). To federate one model across them, each reader fills the *base* columns it
can (unknown ones stay NaN) and :func:`finish_canonical` derives the rest the same way for all.
Ports, addresses and timestamps never enter this view: the destination port only contributes its
coarse service class.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError

FLAGS: tuple[str, ...] = ("syn", "ack", "fin", "rst", "psh", "urg")
FLAG_COLUMNS: tuple[str, ...] = tuple(f"flag_{flag}" for flag in FLAGS)

BASE_NUMERIC: tuple[str, ...] = (
    "duration_s",
    "fwd_bytes",
    "bwd_bytes",
    "fwd_pkts",
    "bwd_pkts",
    *FLAG_COLUMNS,
)
DERIVED_NUMERIC: tuple[str, ...] = (
    "bytes_per_s",
    "pkts_per_s",
    "fwd_pkt_size",
    "bwd_pkt_size",
)
CANONICAL_NUMERIC: tuple[str, ...] = BASE_NUMERIC + DERIVED_NUMERIC
CANONICAL_CATEGORICAL: tuple[str, ...] = ("protocol", "service")
CANONICAL_COLUMNS: tuple[str, ...] = CANONICAL_NUMERIC + CANONICAL_CATEGORICAL

#: Context columns every reader may fill; kept for alerts, never features.
CONTEXT_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "flow_id",
)

PROTOCOL_NUMBERS: dict[int, str] = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp"}

SERVICE_OF_PORT: dict[int, str] = {
    20: "ftp",
    21: "ftp",
    22: "ssh",
    23: "telnet",
    25: "smtp",
    465: "smtp",
    587: "smtp",
    53: "dns",
    67: "dhcp",
    68: "dhcp",
    80: "http",
    8000: "http",
    8008: "http",
    8080: "http",
    443: "https",
    8443: "https",
    110: "mail",
    143: "mail",
    993: "mail",
    995: "mail",
    123: "ntp",
    137: "smb",
    138: "smb",
    139: "smb",
    445: "smb",
    161: "snmp",
    162: "snmp",
    389: "ldap",
    636: "ldap",
    1433: "sql",
    1521: "sql",
    3306: "sql",
    5432: "sql",
    3389: "rdp",
    502: "modbus",
    102: "s7",
    20000: "dnp3",
    1883: "mqtt",
    8883: "mqtt",
    5900: "vnc",
    6667: "irc",
}

#: Service names as UNSW-NB15, NSL-KDD and Zeek write them.
SERVICE_OF_NAME: dict[str, str] = {
    "http": "http",
    "http_443": "https",
    "http_8001": "http",
    "http_2784": "http",
    "ssl": "https",
    "https": "https",
    "tls": "https",
    "ftp": "ftp",
    "ftp-data": "ftp",
    "ftp_data": "ftp",
    "ssh": "ssh",
    "telnet": "telnet",
    "smtp": "smtp",
    "pop3": "mail",
    "pop_2": "mail",
    "pop_3": "mail",
    "imap": "mail",
    "imap4": "mail",
    "dns": "dns",
    "domain": "dns",
    "domain_u": "dns",
    "dhcp": "dhcp",
    "ntp": "ntp",
    "ntp_u": "ntp",
    "netbios_ns": "smb",
    "netbios_dgm": "smb",
    "netbios_ssn": "smb",
    "smb": "smb",
    "snmp": "snmp",
    "ldap": "ldap",
    "sql_net": "sql",
    "mysql": "sql",
    "rdp": "rdp",
    "modbus": "modbus",
    "s7comm": "s7",
    "dnp3": "dnp3",
    "mqtt": "mqtt",
    "irc": "irc",
    "vnc": "vnc",
    "private": "registered",
    "-": "unknown",
    "": "unknown",
}


def _map_unique(values: pd.Series, classify: Callable[[object], object]) -> pd.Series:
    """Apply ``classify`` once per distinct value (flow files repeat a few values a lot)."""
    codes, unique = pd.factorize(values, use_na_sentinel=False)
    table = np.asarray([classify(value) for value in unique], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)


def protocol_class(values: pd.Series) -> pd.Series:
    """Protocol numbers or names -> tcp / udp / icmp / other."""

    def classify(value: object) -> str:
        text = str(value).strip().lower()
        if text in ("tcp", "udp", "icmp"):
            return text
        try:
            return PROTOCOL_NUMBERS.get(int(float(text)), "other")
        except (ValueError, OverflowError):  # a name, or inf / 1e400
            return "other"

    return _map_unique(values, classify)


def service_from_port(ports: pd.Series) -> pd.Series:
    """Destination ports -> coarse service class; the exact port number is never kept."""
    try:
        numeric = pd.to_numeric(ports, errors="coerce")
    except OverflowError:  # 400-digit integers kept as Python ints
        numeric = pd.to_numeric(ports.astype(str), errors="coerce")

    def classify(port: object) -> str:
        if not np.isfinite(port) or not 0 <= port <= 65_535:
            return "unknown"  # readers refuse such ports; this keeps the function total
        port = int(port)
        if port in SERVICE_OF_PORT:
            return SERVICE_OF_PORT[port]
        if port < 1024:
            return "other_wellknown"
        return "registered" if port < 49152 else "dynamic"

    return _map_unique(numeric, classify)


def service_from_name(names: pd.Series) -> pd.Series:
    """Service names (UNSW-NB15, NSL-KDD, Zeek) -> the same classes as :func:`service_from_port`."""
    return _map_unique(
        names, lambda name: SERVICE_OF_NAME.get(str(name).strip().lower(), "other_wellknown")
    )


def flags_from_bitmask(bits: pd.Series) -> pd.DataFrame:
    """NetFlow cumulative TCP flags (FIN=1, SYN=2, RST=4, PSH=8, ACK=16, URG=32) -> presence."""
    value = pd.to_numeric(bits, errors="coerce").fillna(0).astype(np.int64)
    masks = {"fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32}
    return pd.DataFrame(
        {f"flag_{flag}": ((value & masks[flag]) > 0).astype(float) for flag in FLAGS},
        index=bits.index,
    )


def flags_from_counts(counts: dict[str, pd.Series]) -> pd.DataFrame:
    """Per-flag packet counts (CICFlowMeter) -> presence; absent flags stay NaN."""
    index = next(iter(counts.values())).index
    frame = pd.DataFrame(index=index)
    for flag in FLAGS:
        series = counts.get(flag)
        frame[f"flag_{flag}"] = (
            (pd.to_numeric(series, errors="coerce") > 0).astype(float)
            if series is not None
            else np.nan
        )
    return frame


def flags_from_states(states: pd.Series, table: dict[str, str]) -> pd.DataFrame:
    """Connection states (NSL-KDD flag, UNSW state) -> presence via a table of flag letters.

    ``table`` maps a state to the flags seen, as letters of ``FLAGS`` initials (``"saf"`` =
    syn, ack, fin); a state missing from the table gives NaN (unknown), not zero.
    """
    cleaned = states.astype(str).str.strip()
    frame = pd.DataFrame(index=states.index)
    for flag in FLAGS:
        frame[f"flag_{flag}"] = _map_unique(
            cleaned,
            lambda state, flag=flag: float(flag[0] in table[state]) if state in table else np.nan,
        ).astype(float)
    return frame


def finish_canonical(base: pd.DataFrame) -> pd.DataFrame:
    """Validate the base columns a reader filled and derive the rest, in schema order."""
    missing = [c for c in (*BASE_NUMERIC, *CANONICAL_CATEGORICAL) if c not in base.columns]
    if missing:
        raise ValueError(f"canonical flow view lacks base columns: {missing}")
    out = pd.DataFrame(index=base.index)
    for column in BASE_NUMERIC:
        out[column] = pd.to_numeric(base[column], errors="coerce").astype(float)
    duration = out["duration_s"].clip(lower=0).fillna(0) + 1e-3
    total_bytes = out["fwd_bytes"].fillna(0) + out["bwd_bytes"].fillna(0)
    total_pkts = out["fwd_pkts"] + out["bwd_pkts"]
    out["bytes_per_s"] = total_bytes / duration
    out["pkts_per_s"] = total_pkts / duration
    out["fwd_pkt_size"] = out["fwd_bytes"] / out["fwd_pkts"].where(out["fwd_pkts"] > 0)
    out["bwd_pkt_size"] = out["bwd_bytes"] / out["bwd_pkts"].where(out["bwd_pkts"] > 0)
    out[["fwd_pkt_size", "bwd_pkt_size"]] = out[["fwd_pkt_size", "bwd_pkt_size"]].where(
        out[["fwd_pkts", "bwd_pkts"]].to_numpy() != 0, 0.0
    )
    for column in CANONICAL_CATEGORICAL:
        out[column] = base[column].astype(str).to_numpy(dtype=object)
    return out[list(CANONICAL_COLUMNS)]


def check_derived(canonical: pd.DataFrame, files: np.ndarray, rows: np.ndarray) -> None:
    """Refuse a row whose derived column (its rates, its packet sizes) came out infinite: counts
    or a duration too large for the arithmetic, which would leave the row unscored without a
    word. ``files``/``rows``: each row's file and data row, named in the refusal."""
    for column in DERIVED_NUMERIC:
        infinite = np.isinf(canonical[column].to_numpy(dtype=np.float64))
        if infinite.any():
            first = int(np.flatnonzero(infinite)[0])
            raise InputError(
                Path(files[first]),
                f"derived column {column!r} is infinite: the counts of data row "
                f"{int(rows[first])} are too large to compute it "
                f"({int(infinite.sum())} such rows)",
            )

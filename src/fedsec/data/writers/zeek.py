"""Zeek conn.log (ASCII, tab-separated, ``#`` headers, ``-`` for unset fields).

``history`` and ``conn_state`` are rebuilt from the flag presence and packet counts (see
:func:`history_codes`), ``orig_bytes``/``resp_bytes`` are payload bytes (IP bytes minus headers)
and ``orig_ip_bytes``/``resp_ip_bytes`` the IP bytes; single-packet connections leave
``duration`` and the payload byte counts unset, as Zeek does. Labelled records add the extra
fields ``label`` (Benign/Malicious), ``detailed-label`` (the record's label, e.g. an ATT&CK
technique id; the IoT-23 convention for labelled conn.log) and ``campaign``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core import atomic
from fedsec.data.canonical import service_from_port
from fedsec.data.writers._records import HEADER_BYTES, counters, is_private, tcp_bitmask

FIELDS: tuple[tuple[str, str], ...] = (
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
)
LABEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("label", "string"),
    ("detailed-label", "string"),
    ("campaign", "string"),
)
#: Zeek's service names for the port classes it has analyzers for.
ZEEK_SERVICE: dict[str, str] = {
    "http": "http",
    "https": "ssl",
    "dns": "dns",
    "ssh": "ssh",
    "smb": "smb",
    "rdp": "rdp",
    "ntp": "ntp",
    "ldap": "ldap",
    "smtp": "smtp",
    "mail": "imap",
    "ftp": "ftp",
    "modbus": "modbus",
    "dnp3": "dnp3",
    "mqtt": "mqtt",
    "snmp": "snmp",
    "dhcp": "dhcp",
}
ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def history_codes(bitmask: int, answered: bool) -> tuple[str, str]:
    """(history, conn_state) of a TCP connection from its cumulative flags.

    Each flag maps to history letters the reader maps back (S: SYN, h: SYN-ACK, A/a: ACK,
    D/d: payload, read as PSH, F/f: FIN, R or r: RST), so the flags survive a round trip.
    """
    syn, ack, fin = bitmask & SYN, bitmask & ACK, bitmask & FIN
    rst, psh = bitmask & RST, bitmask & PSH
    history = "S" if syn else ""
    history += "h" if syn and ack and answered else ""
    history += "A" if ack else ""
    history += ("D" + ("d" if answered else "")) if psh else ""
    history += ("a" if ack and answered else "") + ("F" if fin else "")
    history += "f" if fin and answered else ""
    if rst:
        history += "r" if not ack else "R"
    if syn and not ack:
        state = "REJ" if rst else "S0"
    elif rst:
        state = "RSTO"
    elif syn and fin:
        state = "SF"
    elif syn:
        state = "S1"
    else:
        state = "OTH"
    return history or "-", state


_CODES = [history_codes(key // 2, bool(key % 2)) for key in range(128)]
_HISTORY = np.asarray([h for h, _ in _CODES], dtype=object)
_STATE = np.asarray([s for _, s in _CODES], dtype=object)


def uids(flow_ids: pd.Series) -> np.ndarray:
    """Zeek-style connection uids ('C' + 17 base62 characters) derived from the flow ids."""
    ids = flow_ids.astype(str).to_numpy(dtype=object)
    digits = np.empty((len(ids), 17), dtype=np.uint8)
    for first, count, key in ((0, 9, "0123456789123456"), (9, 8, "fedsec-zeek-uid!")):
        value = pd.util.hash_array(ids, hash_key=key).astype(np.uint64)
        for position in range(first, first + count):
            digits[:, position] = ALPHABET[(value % np.uint64(62)).astype(np.int64)]
            value = value // np.uint64(62)
    return np.char.add("C", digits.view("S17").ravel().astype(str))


def to_frame(records: pd.DataFrame) -> pd.DataFrame:
    """The data rows as written (strings where Zeek writes ``-``)."""
    c = counters(records)
    proto = records["protocol"].astype(str).to_numpy()
    tcp = proto == "tcp"
    answered = c["bwd_pkts"] > 0
    key = tcp_bitmask(records) * 2 + answered
    history = np.where(tcp, _HISTORY[key], np.where(answered, "Dd", "D"))
    state = np.where(tcp, _STATE[key], np.where(answered, "SF", "S0"))
    header = pd.Series(proto).map(HEADER_BYTES).fillna(28).to_numpy(dtype=np.int64)
    single = (c["fwd_pkts"] + c["bwd_pkts"]) <= 1
    established = ~np.isin(state, ["S0", "REJ"])
    service = service_from_port(records["dst_port"]).map(ZEEK_SERVICE).fillna("-").to_numpy()
    out = pd.DataFrame(
        {
            "ts": records["ts"].to_numpy(dtype=float),
            "uid": uids(records["flow_id"]),
            "id.orig_h": records["src_ip"].to_numpy(),
            "id.orig_p": records["src_port"].to_numpy(),
            "id.resp_h": records["dst_ip"].to_numpy(),
            "id.resp_p": records["dst_port"].to_numpy(),
            "proto": proto,
            "service": np.where(established, service, "-"),
            "duration": np.where(single, np.nan, records["duration_s"].to_numpy(dtype=float)),
            "orig_bytes": _payload(single, c["fwd_bytes"], c["fwd_pkts"], header),
            "resp_bytes": _payload(single, c["bwd_bytes"], c["bwd_pkts"], header),
            "conn_state": state,
            "local_orig": np.where(is_private(records["src_ip"]), "T", "F"),
            "local_resp": np.where(is_private(records["dst_ip"]), "T", "F"),
            "missed_bytes": 0,
            "history": history,
            "orig_pkts": c["fwd_pkts"],
            "orig_ip_bytes": c["fwd_bytes"],
            "resp_pkts": c["bwd_pkts"],
            "resp_ip_bytes": c["bwd_bytes"],
            "tunnel_parents": "-",
        }
    )
    if "label" in records:
        label = records["label"].astype(str)
        benign = label.str.lower().isin(["benign", "normal"]).to_numpy()
        out["label"] = np.where(benign, "Benign", "Malicious")
        out["detailed-label"] = np.where(benign, "-", label.to_numpy())
        campaign = records["campaign"] if "campaign" in records else pd.Series("-", out.index)
        out["campaign"] = campaign.fillna("-").astype(str).replace("", "-").to_numpy()
    return out


def _payload(
    unset: np.ndarray, ip_bytes: np.ndarray, packets: np.ndarray, header: np.ndarray
) -> pd.arrays.IntegerArray:
    """Payload bytes (IP bytes minus headers); unset for single-packet connections."""
    payload = np.maximum(ip_bytes - header * packets, 0)
    return pd.arrays.IntegerArray(payload.astype(np.int64), unset.astype(bool))


def _stamp(ts: float) -> str:
    return pd.Timestamp(ts, unit="s", tz="UTC").strftime("%Y-%m-%d-%H-%M-%S")


def render(records: pd.DataFrame) -> str:
    """The whole log as text: header, rows, ``#close``."""
    frame = to_frame(records)
    fields = FIELDS + (LABEL_FIELDS if "label" in frame else ())
    ts = records["ts"].to_numpy(dtype=float)
    opened = _stamp(float(ts.min())) if len(ts) else "1970-01-01-00-00-00"
    closed = _stamp(float(ts.max())) if len(ts) else opened
    header = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        f"#open\t{opened}",
        "#fields\t" + "\t".join(name for name, _ in fields),
        "#types\t" + "\t".join(kind for _, kind in fields),
    ]
    body = io.StringIO()
    frame.to_csv(
        body,
        sep="\t",
        header=False,
        index=False,
        na_rep="-",
        float_format="%.6f",
        lineterminator="\n",
        quoting=csv.QUOTE_NONE,
    )
    return "\n".join(header) + "\n" + body.getvalue() + f"#close\t{closed}\n"


def write(records: pd.DataFrame, path: Path) -> Path:
    atomic.write_text(path, render(records))
    return path

"""Columns that must not be features, and files that are not flow records.

Addresses, ports, flow ids and timestamps identify attacker hosts and attack windows in the
public datasets (the TON_IoT timestamp alone separates attacks with macro-F1 0.97; see the
datasets README, "Known traps"): a model that learns them learns the capture, not the attack.
These checks recognise such columns by name and by value, so that ``fedsec inspect`` proposes
them as context and the mapped reader warns when a mapping keeps one as a feature.

A packet-level export (Wireshark/tshark CSV: one row per packet) holds no flows: there is
nothing per flow to score, so such files are refused with the reason. A raw capture given to a
flow reader is refused naming the format that meters it into flows (``pcap``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.taxonomy import BENIGN
from fedsec.data.time_text import compact_date_layout

_IPV4 = r"\d{1,3}(\.\d{1,3}){3}"
_IPV6 = r"[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}"
_ADDRESS = re.compile(rf"^\s*({_IPV4}|{_IPV6})\s*$")
_MAC = re.compile(r"^\s*[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}\s*$")

IDENTIFIER_WORDS = frozenset(
    {"addr", "address", "mac", "id", "uid", "uuid", "host", "hostname", "index", "unnamed"}
    | {"seq", "seqno", "stcpb", "dtcpb"}  # sequence numbers: UNSW-NB15's random TCP bases
)
#: A count of ports or hosts (UNSW-NB15's ``ct_src_dport_ltm``) is a feature, not an identifier.
COUNT_WORDS = frozenset({"ct", "count", "cnt", "num"})
#: "time" beside these is an amount of time (CIC's ``Total TCP Flow Time``), not a clock.
AMOUNT_WORDS = frozenset({"total", "duration", "elapsed", "mean", "avg", "max", "min", "std"})
#: "ip" names an address only beside an end (``Src IP``), or alone (``MIN_IP_PKT_LEN`` is not).
ENDPOINT_WORDS = frozenset(
    {"src", "dst", "source", "destination", "orig", "resp", "client", "server"}
)
PORT_WORDS = frozenset({"port", "sport", "dport"})
TIME_WORDS = frozenset({"timestamp", "time", "date", "datetime", "ts", "epoch"})
EDGE_WORDS = frozenset({"start", "end", "first", "last", "stime", "ltime"})
UNIT_WORDS = frozenset({"ms", "milliseconds", "seconds", "sec", "time", "timestamp", "switched"})

#: Column names of packet-level exports: Wireshark's default CSV and tshark field names.
WIRESHARK_COLUMNS = frozenset(
    {"no.", "time", "source", "destination", "protocol", "length", "info"}
)
TSHARK_PREFIXES = ("frame.", "eth.", "ip.", "ipv6.", "tcp.", "udp.", "_ws.")
#: First bytes of pcap (both byte orders, micro- and nanosecond) and pcapng files.
CAPTURE_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


def words(name: str) -> list[str]:
    """``FLOW_START_MILLISECONDS`` -> flow, start, milliseconds; ``srcIP`` -> src, ip."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w]


def name_kind(name: str) -> str | None:
    """``"identifier"``, ``"port"`` or ``"timestamp"`` when the column name says so."""
    parts = set(words(name))
    clock = parts & TIME_WORDS - ({"time"} if parts & AMOUNT_WORDS else set())
    if clock or (parts & EDGE_WORDS and parts & UNIT_WORDS):
        return "timestamp"
    if parts & COUNT_WORDS:
        return None
    if parts & PORT_WORDS:
        return "port"
    address = "ip" in parts and (parts <= {"ip"} | ENDPOINT_WORDS)
    if parts & IDENTIFIER_WORDS or address:
        return "identifier"
    return None


def value_kind(values: pd.Series) -> str | None:
    """``"identifier"`` for addresses, ``"timestamp"`` for date-times, epoch clocks or
    compact dates (every value a whole number of 8 or 14 digits that reads as a date)."""
    sample = values.dropna()
    sample = sample.sample(min(len(sample), 500), random_state=0) if len(sample) else sample
    if not len(sample):
        return None
    if sample.nunique() > 1 and compact_date_layout(sample) is not None:
        return "timestamp"  # 20190425 or 20190425130102: a date, whatever its dtype
    if not pd.api.types.is_numeric_dtype(sample):
        text = sample.astype(str)
        if (text.str.match(_ADDRESS) | text.str.match(_MAC)).mean() > 0.9:
            return "identifier"
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if parsed.notna().mean() > 0.9 and pd.to_numeric(text, errors="coerce").isna().all():
            return "timestamp"
        return None
    if _row_numbers(values):
        return "identifier"
    numbers = pd.to_numeric(sample, errors="coerce").to_numpy(dtype=float)
    clocks = ((numbers > 9.4e8) & (numbers < 4.1e9)) | ((numbers > 9.4e11) & (numbers < 4.1e12))
    return "timestamp" if clocks.mean() > 0.99 and len(np.unique(numbers)) > 1 else None


#: A column tells attacks apart only if it has at most this many values, and at most one per
#: ``PROXY_ROWS_PER_VALUE`` rows: a column of distinct values separates any labels by chance.
PROXY_MAX_VALUES = 200
PROXY_ROWS_PER_VALUE = 10


def _row_numbers(values: pd.Series) -> bool:
    """Whole numbers rising by at least one from row to row: a row index (pandas' unnamed
    index, a ``No.`` column), which orders the capture and so the attack windows."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if len(numbers) < 20 or not np.isfinite(numbers).all():
        return False
    steps = np.diff(numbers)
    return bool((numbers == np.round(numbers)).all() and (steps >= 1).all())


def tells_attacks_apart(values: pd.Series, attacks: np.ndarray) -> bool:
    """Whether ``values`` alone tell attack from benign on every row (each value only ever on
    attacks or only on benign rows, with both present): a copy or a function of the label (the
    family beside the label, a campaign name), which no real flow feature is. Text is compared
    trimmed and lower-cased, as the readers read it (TON_IoT's ``temp_condition`` spells
    ``high`` with other spaces on attack rows: a leak the readers' trimming removes)."""
    attacks = np.asarray(attacks, dtype=bool)
    if attacks.all() or not attacks.any():
        return False
    keys = values.astype(str).str.strip().str.lower().where(values.notna(), "")  # as read
    codes, uniques = pd.factorize(keys)
    if not 2 <= len(uniques) <= min(PROXY_MAX_VALUES, len(values) // PROXY_ROWS_PER_VALUE):
        return False
    share = np.bincount(codes, weights=attacks) / np.bincount(codes)
    return bool(np.isin(share, (0.0, 1.0)).all())


def label_copies(native: pd.DataFrame, families: np.ndarray) -> list[str]:
    """The native features whose value alone tells attack from benign on every row: copies of
    the label that a mapping kept as features (a model trained on them reads the answer).
    Checked once on the rows a federation trains on, not on every chunk scored."""
    attacks = np.asarray(families != BENIGN)
    return [c for c in native.columns if tells_attacks_apart(native[c], attacks)]


def check_label_copies(
    native: pd.DataFrame, families: np.ndarray, allowed: list[str], files: str
) -> list[str]:
    """Refuse training on a copy of the label (naming the column and ``files``) unless the
    mapping opts in with ``label_copies``; a note for each column it allows."""
    copies = label_copies(native, families)
    refused = [c for c in copies if c not in allowed]
    if refused:
        raise InputError(
            files,
            f"feature column {refused[0]!r} tells attack from benign on every row by its value "
            "alone: a copy of the label, not a flow feature; a model trained on it reads the "
            "answer. Drop it in the mapping (drop = [...]), or keep it knowingly with "
            f"label_copies = [{refused[0]!r}] in the mapping",
        )
    return [
        f"feature column {c!r} tells attack from benign on every row by its value alone, kept "
        "as a feature by the mapping's label_copies: results read the answer from it"
        for c in copies
    ]


def leak_kind(name: str, values: pd.Series) -> str | None:
    """Why a column should be context rather than a feature, or None."""
    return name_kind(name) or value_kind(values)


def capture_kind(head: bytes) -> str | None:
    """'pcap' or 'pcapng' when the file's first bytes are a capture's magic, else None."""
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    return "pcap" if head[:4] in CAPTURE_MAGIC else None


def check_capture_bytes(path: Path, head: bytes) -> None:
    """A raw packet capture given to a flow reader is refused, naming the format that reads it."""
    kind = capture_kind(head)
    if kind is not None:
        raise InputError(
            path,
            f"is a packet capture ({kind}), not flow records: read it with --format pcap "
            '(format = "pcap" in a scenario), which meters its flows with NFStream',
        )


def check_not_packets(path: Path, columns: list[str]) -> None:
    """A packet-level export has one row per packet and no per-flow counters: refused."""
    lowered = {str(c).strip().lower() for c in columns}
    wireshark = len(lowered & WIRESHARK_COLUMNS) >= 5
    tshark = sum(c.startswith(TSHARK_PREFIXES) for c in lowered) >= max(2, len(lowered) // 2)
    if wireshark or tshark:
        raise InputError(
            path,
            "is a packet-level export (one row per packet: columns "
            f"{', '.join(sorted(lowered)[:6])}), not flow records: it has no per-flow "
            "counters to score; aggregate the packets into flows (CICFlowMeter, NFStream, "
            "Zeek) first",
        )

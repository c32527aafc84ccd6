"""Zeek conn.log: ASCII (``#separator``/``#fields`` headers, tab-separated) or JSON lines.

ASCII logs: the header block gives the separator, field names, the unset (``-``) and empty
(``(empty)``) markers; ``#close`` and other ``#`` lines anywhere (concatenated rotations) are
skipped, and every ``#fields`` line in a file must agree. A ``.gz`` file is decompressed.
A negative counter or ``duration`` (Zeek writes neither) is refused, naming its data row.

Canonical view: ``duration`` (unset = 0: Zeek leaves it unset for single-packet connections),
IP bytes (``orig_ip_bytes``/``resp_ip_bytes``, else the payload counts ``orig_bytes``/
``resp_bytes``; unset = 0), packets, ``proto``, the destination port's service class, and TCP
flag presence from ``history``: ``S`` SYN; ``H``/``h`` SYN and ACK; ``A``/``a`` ACK; ``D``/``d``
payload, read as PSH; ``F``/``f`` FIN; ``R``/``r`` RST (letters of other meanings are ignored).
Without a history the ``conn_state`` gives the flags. Zeek does not record URG: ``flag_urg`` is
unknown (NaN) for TCP. Non-TCP flows have no flags.

Native view: the numeric conn fields plus ``proto``, ``service``, ``conn_state`` and ``history``.
Addresses, ports, ``uid``, ``ts``, ``local_orig``/``local_resp`` and ``tunnel_parents`` are
context, never features.

Labels: real conn.log has none (rows read as unlabeled). A labelled log adds extra fields, as
IoT-23 does: ``detailed-label`` (an IoT-23 name, an ATT&CK technique id or a family) and/or
``label`` (``Benign``/``Malicious``), optionally ``campaign``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import EmptyInput, InputError
from fedsec.data.canonical import (
    FLAG_COLUMNS,
    finish_canonical,
    flags_from_states,
    protocol_class,
    service_from_port,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers._input import limits, read_text, text_blocks
from fedsec.data.readers._io import (
    PORT,
    check_not_negative,
    check_range,
    numeric_block,
    require_columns,
    text_block,
)
from fedsec.data.readers._labels import GENERIC, UNLABELED_NOTE, families_of, unlabeled
from fedsec.data.readers.zeek_ascii import ascii_rows
from fedsec.data.readers.zeek_json import json_rows
from fedsec.data.taxonomy import BENIGN, OTHER

REQUIRED: tuple[str, ...] = ("id.resp_p", "proto", "orig_pkts", "resp_pkts")
COUNTERS: tuple[str, ...] = (
    "duration",
    "orig_bytes",
    "resp_bytes",
    "missed_bytes",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
)
#: The columns whose numbers a JSON log gives as floats (where a column holds numbers only).
JSON_NUMBERS: frozenset[str] = frozenset(COUNTERS)
CATEGORICAL: tuple[str, ...] = ("proto", "service", "conn_state", "history")
#: IP bytes, else payload bytes, per direction: one of each pair is required.
BYTE_PAIRS: tuple[tuple[str, str], ...] = (
    ("orig_ip_bytes", "orig_bytes"),
    ("resp_ip_bytes", "resp_bytes"),
)
CONTEXT: dict[str, str] = {
    "ts": "timestamp",
    "uid": "flow_id",
    "id.orig_h": "src_ip",
    "id.orig_p": "src_port",
    "id.resp_h": "dst_ip",
    "id.resp_p": "dst_port",
    "campaign": "campaign",
}
HISTORY_FLAGS: dict[str, str] = {
    "syn": "Hh",
    "ack": "HhAa",
    "fin": "Ff",
    "rst": "Rr",
    "psh": "Dd",
}
#: conn_state -> flags seen (initials of syn, ack, fin, rst, psh), when history is absent.
STATE_FLAGS: dict[str, str] = {
    "S0": "s",
    "REJ": "sr",
    "S1": "sap",
    "SF": "safp",
    "S2": "safp",
    "S3": "safp",
    "RSTO": "sarp",
    "RSTR": "sarp",
    "RSTOS0": "sr",
    "RSTRH": "sar",
    "SH": "sf",
    "SHR": "saf",
    "OTH": "a",
}
#: IoT-23 (Stratosphere Lab) detailed labels -> families.
IOT_23: dict[str, str] = {
    "Benign": BENIGN,
    "Attack": OTHER,
    "PartOfAHorizontalPortScan": "recon",
    "PartOfAHorizontalPortScan-Attack": "recon",
    "DDoS": "ddos",
    "FileDownload": "malware",
    "C&C": "botnet",
    "C&C-HeartBeat": "botnet",
    "C&C-HeartBeat-Attack": "botnet",
    "C&C-HeartBeat-FileDownload": "botnet",
    "C&C-FileDownload": "botnet",
    "C&C-Mirai": "botnet",
    "C&C-Torii": "botnet",
    "C&C-PartOfAHorizontalPortScan": "botnet",
    "Okiru": "botnet",
    "Okiru-Attack": "botnet",
    "Mirai": "botnet",
    "Torii": "botnet",
    "Malicious": OTHER,
}
LABELS: dict[str, str] = {**IOT_23, **GENERIC}


def read(path: Path) -> FlowTable:
    return from_frame(load_log(Path(path)), path)


def from_frame(raw: pd.DataFrame, path: Path) -> FlowTable:
    """The flows of ``raw`` (the log's rows as strings, NaN = unset; indexed by their data row
    in the file, 0-based)."""
    notes: list[str] = []
    require_columns(raw, REQUIRED, path)
    check_range(raw, ["id.resp_p"], path, **PORT)
    check_range(raw, ["id.orig_p"], path, allow_missing=True, **PORT)
    for pair in BYTE_PAIRS:
        if not any(c in raw for c in pair):
            raise InputError(path, f"missing required columns: {' or '.join(pair)}")
    counters = [c for c in COUNTERS if c in raw]
    unset = {c: int(raw[c].isna().sum()) for c in counters if raw[c].isna().any()}
    if unset:
        notes.append(f"unset counters read as 0: {unset}")
    filled = raw[counters].astype(object).where(raw[counters].notna(), 0)
    numeric, _ = numeric_block(filled, counters, path)
    check_not_negative(raw, numeric, counters, path)  # Zeek's counts and intervals never are
    native = numeric.copy()
    categorical = [c for c in CATEGORICAL if c in raw]
    native[categorical] = text_block(raw.fillna({c: "-" for c in categorical}), categorical)
    families, labels, unknown, label_notes = labels_of(raw)
    return table_of(
        path,
        native,
        categorical,
        (families, labels, unknown),
        raw[[c for c in CONTEXT if c in raw]].rename(columns=CONTEXT),
        _canonical(raw, numeric),
        notes + label_notes,
    )


def table_of(
    path: Path,
    native: pd.DataFrame,
    categorical: Sequence[str],
    labelled: tuple[np.ndarray, np.ndarray, dict[str, int]],
    context: pd.DataFrame,
    canonical: pd.DataFrame,
    notes: list[str],
) -> FlowTable:
    """A Zeek log's flow table (``labelled``: the rows' families, labels and unknown label
    counts; ``notes`` about ``path``; rows numbered by ``native``'s index, 0-based)."""
    families, labels, unknown = labelled
    return FlowTable(
        source="zeek",
        native=native,
        native_categorical=tuple(categorical),
        family=families,
        label=labels,
        context=context,
        canonical=canonical,
        unknown_labels=unknown,
        notes=[f"{path}: {note}" for note in notes],
        files=[str(path)],
        source_row=native.index.to_numpy() + 1,
    )


def load_log(path: Path) -> pd.DataFrame:
    """The log's rows as a frame of strings (NaN = unset)."""
    caps = limits()
    text = read_text(path, caps)
    if not text.strip():
        raise EmptyInput(path, "file is empty")
    if text.lstrip()[:1] == "{":
        return json_rows(text, path, caps, JSON_NUMBERS)
    return ascii_rows(text, path, caps)


def is_json(path: Path) -> bool:
    """Whether the log is JSON lines (its first character that is not white space is ``{``)."""
    for block in text_blocks(path, block_bytes=1 << 16):
        if block.strip():
            return block.lstrip()[:1] == "{"
    return False


def _canonical(raw: pd.DataFrame, numeric: pd.DataFrame) -> pd.DataFrame:
    return canonical(numeric, text_derived(raw))


def canonical(numeric: pd.DataFrame, by_text: pd.DataFrame) -> pd.DataFrame:
    """The canonical view from the counters (``numeric``) and what each row's text fields
    give (``by_text``: :func:`text_derived`)."""

    def either(first: str, second: str) -> pd.Series:
        return numeric[first] if first in numeric else numeric[second]

    base = pd.DataFrame(
        {
            "duration_s": numeric.get("duration", 0.0),
            "fwd_bytes": either("orig_ip_bytes", "orig_bytes"),
            "bwd_bytes": either("resp_ip_bytes", "resp_bytes"),
            "fwd_pkts": numeric["orig_pkts"],
            "bwd_pkts": numeric["resp_pkts"],
        },
        index=numeric.index,
    )
    return finish_canonical(pd.concat([base, by_text], axis=1))


def text_derived(raw: pd.DataFrame) -> pd.DataFrame:
    """Each row's protocol class, service class and TCP flags, from its text fields."""
    classes = pd.DataFrame(
        {"protocol": protocol_class(raw["proto"]), "service": service_from_port(raw["id.resp_p"])},
        index=raw.index,
    )
    return pd.concat([classes, history_flags(raw)], axis=1)


def history_flags(raw: pd.DataFrame) -> pd.DataFrame:
    """Flag presence per the module docstring: TCP from history (else conn_state)."""
    tcp = raw["proto"].astype(str).str.strip().str.lower().eq("tcp").to_numpy()
    history = raw["history"] if "history" in raw else pd.Series(np.nan, index=raw.index)
    known = history.notna().to_numpy()
    text = history.astype(object).where(history.notna(), "").astype(str)
    flags = pd.DataFrame(index=raw.index)
    for flag in ("syn", "ack", "fin", "rst", "psh"):
        letters = HISTORY_FLAGS[flag] + ("S" if flag == "syn" else "")
        found = text.str.contains(f"[{letters}]", regex=True).to_numpy().astype(float)
        flags[f"flag_{flag}"] = np.where(known, found, np.nan)
    if "conn_state" in raw and not known.all():
        by_state = flags_from_states(raw["conn_state"].fillna("-"), STATE_FLAGS)
        flags = flags.where(np.repeat(known[:, None], 5, axis=1), by_state[flags.columns])
    flags["flag_urg"] = np.nan
    flags = flags[list(FLAG_COLUMNS)]
    return flags.where(np.repeat(tcp[:, None], len(FLAG_COLUMNS), axis=1), 0.0)


def _as_text(values: pd.Series | None) -> pd.Series | None:
    """Label values as text (a JSON log may give a number; unset stays unset)."""
    if values is None:
        return None
    return values.astype(object).where(values.isna(), values.astype(str))


def labels_of(raw: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict[str, int], list[str]]:
    """Families, labels and unknown label counts of the rows (detailed label, else label),
    and the note of a log without labels."""
    detailed, coarse = _as_text(raw.get("detailed-label")), _as_text(raw.get("label"))
    if detailed is None and coarse is None:
        families, labels = unlabeled(len(raw))
        return families, labels, {}, [UNLABELED_NOTE]
    chosen = detailed if detailed is not None else coarse
    if detailed is not None and coarse is not None:
        chosen = detailed.where(detailed.notna() & (detailed.str.strip() != ""), coarse)
    families, labels, unknown = families_of(chosen.fillna(OTHER), LABELS)
    return families, labels, unknown, []

"""NetFlow v2 CSVs (NF-*-v2, Sarhan et al.): 43 NetFlow v9 fields + Label + Attack.

``Attack`` (the attack type) and ``Label`` (0 benign, 1 attack) are optional: new flows to score
carry neither and are read as unlabeled; with ``Label`` alone attacks are family ``other``. When
both are there they must agree (``Benign`` iff 0); a contradiction is refused, naming the row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.data.canonical import (
    finish_canonical,
    flags_from_bitmask,
    protocol_class,
    service_from_port,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import (
    PORT,
    PROTOCOL_NUMBER,
    UNIX_MILLISECONDS,
    check_not_negative,
    check_range,
    numeric_block,
    read_csv_checked,
    require_columns,
)
from fedsec.data.readers._labels import LabelColumns, read_labels
from fedsec.data.taxonomy import NF_V2

CONTEXT: dict[str, str] = {
    "IPV4_SRC_ADDR": "src_ip",
    "L4_SRC_PORT": "src_port",
    "IPV4_DST_ADDR": "dst_ip",
    "L4_DST_PORT": "dst_port",
    "FLOW_START_MILLISECONDS": "timestamp",
}
LABEL = "Attack"
BINARY = "Label"
LABELS = LabelColumns(LABEL, BINARY, NF_V2, attack_text="Attack", benign_text="Benign")
#: ``DNS_QUERY_ID`` is a random transaction id (an identifier); ``Label`` is the binary label;
#: ``Dataset`` names the source. None of them is a feature; FLOW_END is a timestamp.
DROPPED: tuple[str, ...] = ("DNS_QUERY_ID", "Label", "Dataset", "FLOW_END_MILLISECONDS")
CATEGORICAL: tuple[str, ...] = ("PROTOCOL", "L7_PROTO")
REQUIRED: tuple[str, ...] = (
    "IPV4_SRC_ADDR",
    "L4_SRC_PORT",
    "IPV4_DST_ADDR",
    "L4_DST_PORT",
    "PROTOCOL",
    "IN_BYTES",
    "IN_PKTS",
    "OUT_BYTES",
    "OUT_PKTS",
    "TCP_FLAGS",
    "FLOW_DURATION_MILLISECONDS",
)
#: The flow's counts and duration: NetFlow's counters are unsigned.
COUNTS: tuple[str, ...] = (
    "IN_BYTES",
    "IN_PKTS",
    "OUT_BYTES",
    "OUT_PKTS",
    "FLOW_DURATION_MILLISECONDS",
)


def read(path: Path) -> FlowTable:
    return from_frame(read_csv_checked(path), path)


def from_frame(raw: pd.DataFrame, path: Path) -> FlowTable:
    """The flows of ``raw`` (rows of ``path``, indexed by their data row there, 0-based)."""
    require_columns(raw, REQUIRED, path)
    context_cols = [c for c in CONTEXT if c in raw.columns]
    numeric_cols = [
        c for c in raw.columns if c not in (*context_cols, *DROPPED, *CATEGORICAL, LABEL)
    ]
    numeric, _ = numeric_block(raw, numeric_cols, path)
    check_not_negative(raw, numeric, COUNTS, path)
    _check_context(raw, path)
    native = numeric.copy()
    for column in CATEGORICAL:
        if column in raw:
            native[column] = _code_text(pd.to_numeric(raw[column], errors="coerce"))
    families, labels, unknown, notes = read_labels(raw, path, LABELS)
    return FlowTable(
        source="nf-v2",
        native=native,
        native_categorical=tuple(c for c in CATEGORICAL if c in raw),
        family=families,
        label=labels,
        context=raw[context_cols].rename(columns=CONTEXT).reset_index(drop=True),
        canonical=_canonical(raw, numeric),
        unknown_labels=unknown,
        notes=[f"{path}: {note}" for note in notes],
        files=[str(path)],
        source_row=raw.index.to_numpy() + 1,
    )


def _code_text(values: pd.Series) -> pd.Series:
    """A protocol code as text (its whole number; ``-`` when not a number), written once per
    distinct code."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    texts = np.asarray(["-" if v != v else str(int(v)) for v in distinct], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def _check_context(raw: pd.DataFrame, path: Path) -> None:
    check_range(raw, ["L4_SRC_PORT", "L4_DST_PORT"], path, **PORT)
    check_range(raw, ["PROTOCOL"], path, **PROTOCOL_NUMBER)
    check_range(raw, ["L7_PROTO"], path, low=0, high=1e6, what="an nDPI protocol id", integer=False)
    check_range(raw, ["FLOW_START_MILLISECONDS"], path, **UNIX_MILLISECONDS)


def _canonical(raw: pd.DataFrame, numeric: pd.DataFrame) -> pd.DataFrame:
    base = pd.DataFrame(
        {
            "duration_s": numeric["FLOW_DURATION_MILLISECONDS"] / 1e3,
            "fwd_bytes": numeric["IN_BYTES"],
            "bwd_bytes": numeric["OUT_BYTES"],
            "fwd_pkts": numeric["IN_PKTS"],
            "bwd_pkts": numeric["OUT_PKTS"],
            "protocol": protocol_class(raw["PROTOCOL"]),
            "service": service_from_port(raw["L4_DST_PORT"]),
        },
        index=raw.index,
    )
    return finish_canonical(pd.concat([base, flags_from_bitmask(numeric["TCP_FLAGS"])], axis=1))

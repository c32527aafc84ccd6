"""CIC-IDS2017 in both column conventions.

* original MachineLearningCVE CSVs: 78 features, leading spaces in names, ``Destination Port``
  as the only context column, ``Infinity``/NaN in the two rate columns when a flow lasts 0 µs;
* the improved CICFlowMeter re-extraction (Engelen et al. 2021): flow id, addresses, ports and
  timestamps (context, never features) plus 80-odd features.
The convention is recognised from the columns; both map to the same canonical flow schema.

Quirks of the official files handled here: the original CSVs spell the dash of the web-attack
labels as a cp1252 byte (read as U+FFFD, then ``-``; such bytes anywhere but in ``Label`` are
refused), repeat ``Fwd Header Length`` (the copy must be identical and is dropped), and one day
file ends with rows whose every field is empty (dropped and counted in the notes). ``Label`` is
optional: a file without it (new flows to score) is read as unlabeled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.canonical import (
    finish_canonical,
    flags_from_counts,
    protocol_class,
    service_from_port,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import (
    PORT,
    PROTOCOL_NUMBER,
    check_range,
    data_row,
    numeric_block,
    read_csv_checked,
    require_columns,
    to_float,
)
from fedsec.data.readers._labels import UNLABELED_NOTE, label_text, unlabeled
from fedsec.data.taxonomy import CIC_IDS2017, map_labels

LABEL = "Label"
#: Columns that are context (improved convention) -> canonical context names.
IMPROVED_CONTEXT: dict[str, str] = {
    "Flow ID": "flow_id",
    "Src IP": "src_ip",
    "Src Port": "src_port",
    "Dst IP": "dst_ip",
    "Dst Port": "dst_port",
    "Timestamp": "timestamp",
}
MLCVE_CONTEXT: dict[str, str] = {"Destination Port": "dst_port"}
#: Never features: row ids, the label-derived 'Attempted Category', duplicated columns.
DUPLICATED = "Fwd Header Length"
DROPPED: tuple[str, ...] = ("id", "Attempted Category", f"{DUPLICATED}.1")
PORTS: tuple[str, ...] = ("Src Port", "Dst Port", "Destination Port")
#: Rate columns divided by a zero duration hold Infinity/NaN in the original CSVs.
RATE_COLUMNS: tuple[str, ...] = ("Flow Bytes/s", "Flow Packets/s")
CATEGORICAL: tuple[str, ...] = ("Protocol",)

#: canonical base column -> (improved name, MachineLearningCVE name)
FLOW_FIELDS: dict[str, tuple[str, str]] = {
    "fwd_pkts": ("Total Fwd Packet", "Total Fwd Packets"),
    "bwd_pkts": ("Total Bwd packets", "Total Backward Packets"),
    "fwd_bytes": ("Total Length of Fwd Packet", "Total Length of Fwd Packets"),
    "bwd_bytes": ("Total Length of Bwd Packet", "Total Length of Bwd Packets"),
}
FLAG_FIELDS: dict[str, str] = {
    "fin": "FIN Flag Count",
    "syn": "SYN Flag Count",
    "rst": "RST Flag Count",
    "psh": "PSH Flag Count",
    "ack": "ACK Flag Count",
    "urg": "URG Flag Count",
}


def convention(columns: pd.Index) -> str:
    """'improved' when the flow id/addresses are present, else 'mlcve'."""
    return "improved" if "Src IP" in columns or "Flow ID" in columns else "mlcve"


def required_columns(columns: pd.Index | list[str]) -> list[str]:
    """The columns a file of ``columns``' convention must hold."""
    pick = 0 if convention(columns) == "improved" else 1
    return ["Flow Duration", *(names[pick] for names in FLOW_FIELDS.values())]


#: How the files are read: cp1252 bytes replaced (then refused outside ``Label``), the
#: duplicated column allowed.
CSV_OPTIONS: dict = {"replace_errors": True, "allow_duplicates": (DUPLICATED,)}


def read(path: Path) -> FlowTable:
    table = from_frame(read_csv_checked(path, **CSV_OPTIONS), path)
    if len(table) == 0:
        raise InputError(path, "every row is empty")
    return table


def from_frame(raw: pd.DataFrame, path: Path) -> FlowTable:
    """The flows of ``raw`` (rows of ``path``, indexed by their data row there, 0-based); rows
    whose every field is empty are dropped (none may be left)."""
    raw, notes = _drop_empty_rows(raw, path)
    style = convention(raw.columns)
    context_names = IMPROVED_CONTEXT if style == "improved" else MLCVE_CONTEXT
    pick = 0 if style == "improved" else 1
    require_columns(raw, required_columns(raw.columns), path)
    _check_text(raw, path)
    context_cols = [c for c in context_names if c in raw.columns]
    feature_cols = [
        c for c in raw.columns if c not in (*context_cols, *DROPPED, LABEL) and c not in CATEGORICAL
    ]
    numeric, replaced = numeric_block(raw, feature_cols, path, allow_nonfinite=RATE_COLUMNS)
    check_range(raw, PORTS, path, **PORT)
    check_range(raw, CATEGORICAL, path, **PROTOCOL_NUMBER)
    categorical = [c for c in CATEGORICAL if c in raw.columns]
    native = numeric.copy()
    for column in categorical:
        # checked whole numbers: "6", also when empty rows made pandas read the column as floats
        native[column] = to_float(raw[column]).astype(np.int64).astype(str).to_numpy(dtype=object)
    if LABEL in raw:
        labels = label_text(raw, LABEL, path)
        families, unknown = map_labels(labels, CIC_IDS2017)
        labels = labels.map(_clean_label).to_numpy(dtype=object)
    else:
        (families, labels), unknown = unlabeled(len(raw)), {}
        notes.append(f"{path}: {UNLABELED_NOTE}")
    if replaced:
        notes.append(
            f"{path.name}: {replaced} NaN/Infinity rate values (zero-duration flows) imputed"
        )
    context = raw[context_cols].rename(columns=context_names).reset_index(drop=True)
    return FlowTable(
        source="cicids2017",
        native=native.reset_index(drop=True),
        native_categorical=tuple(categorical),
        family=families,
        label=labels,
        context=context,
        canonical=_canonical(raw, numeric, pick).reset_index(drop=True),
        unknown_labels=unknown,
        notes=notes,
        files=[str(path)],
        source_row=raw.index.to_numpy() + 1,
    )


def _drop_empty_rows(raw: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Rows whose every field is empty (the end of an official day file) are not flows."""
    empty = raw.isna().all(axis=1).to_numpy()
    if not empty.any():
        return raw, []
    kept = raw.loc[~empty]
    return kept, [f"{path}: {int(empty.sum())} rows with every field empty dropped"]


def _check_text(raw: pd.DataFrame, path: Path) -> None:
    """Undecodable bytes are tolerated in labels only; a duplicated column must be a copy."""
    for column in raw.columns:
        if column == LABEL or pd.api.types.is_numeric_dtype(raw[column]):
            continue
        mangled = raw[column].astype(str).str.contains("\ufffd", regex=False).to_numpy()
        if mangled.any():
            row = int(np.flatnonzero(mangled)[0])
            raise InputError(
                path,
                f"column {column!r} holds bytes that are not UTF-8 (data row {data_row(raw, row)})",
            )
    copy = f"{DUPLICATED}.1"
    if copy in raw and DUPLICATED in raw and not raw[copy].equals(raw[DUPLICATED]):
        raise InputError(path, f"the two {DUPLICATED!r} columns differ; expected a copy")


def _clean_label(label: str) -> str:
    return label.replace("\ufffd", "-")


def _canonical(raw: pd.DataFrame, numeric: pd.DataFrame, pick: int) -> pd.DataFrame:
    base = pd.DataFrame(index=raw.index)
    base["duration_s"] = numeric["Flow Duration"] / 1e6
    for column, names in FLOW_FIELDS.items():
        base[column] = numeric[names[pick]]
    base["protocol"] = protocol_class(raw["Protocol"]) if "Protocol" in raw else "unknown"
    port = raw["Dst Port"] if "Dst Port" in raw else raw.get("Destination Port")
    base["service"] = service_from_port(port) if port is not None else "unknown"
    flags = flags_from_counts(
        {flag: numeric[name] for flag, name in FLAG_FIELDS.items() if name in numeric}
    )
    return finish_canonical(pd.concat([base, flags], axis=1))

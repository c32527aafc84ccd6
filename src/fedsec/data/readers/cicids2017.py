"""CIC-IDS2017 in both column conventions.

* original MachineLearningCVE CSVs: 78 features, leading spaces in names, ``Destination Port``
  as the only context column, ``Infinity``/NaN in the two rate columns when a flow lasts 0 µs;
* the improved CICFlowMeter re-extraction (Engelen et al. 2021): flow id, addresses, ports and
  timestamps (context, never features) plus 80-odd features.
The convention is recognised from the columns; both map to the same canonical flow schema.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fedsec.data.canonical import (
    finish_canonical,
    flags_from_counts,
    protocol_class,
    service_from_port,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import (
    numeric_block,
    read_csv_checked,
    require_columns,
    strip_column_names,
)
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
DROPPED: tuple[str, ...] = ("id", "Attempted Category", "Fwd Header Length.1")
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


def read(path: Path) -> FlowTable:
    raw = strip_column_names(read_csv_checked(path))
    style = convention(raw.columns)
    context_names = IMPROVED_CONTEXT if style == "improved" else MLCVE_CONTEXT
    pick = 0 if style == "improved" else 1
    required = [LABEL, "Flow Duration", *(names[pick] for names in FLOW_FIELDS.values())]
    require_columns(raw, required, path)
    context_cols = [c for c in context_names if c in raw.columns]
    feature_cols = [
        c for c in raw.columns if c not in (*context_cols, *DROPPED, LABEL) and c not in CATEGORICAL
    ]
    numeric, replaced = numeric_block(raw, feature_cols, path, allow_nonfinite=RATE_COLUMNS)
    categorical = [c for c in CATEGORICAL if c in raw.columns]
    native = numeric.copy()
    for column in categorical:
        native[column] = raw[column].astype(str).str.strip().to_numpy(dtype=object)
    labels = raw[LABEL].astype(str).str.strip()
    families, unknown = map_labels(labels, CIC_IDS2017)
    notes = (
        [f"{path.name}: {replaced} NaN/Infinity rate values (zero-duration flows) imputed"]
        if replaced
        else []
    )
    context = raw[context_cols].rename(columns=context_names).reset_index(drop=True)
    return FlowTable(
        source="cicids2017",
        native=native,
        native_categorical=tuple(categorical),
        family=families,
        label=labels.map(_clean_label).to_numpy(dtype=object),
        context=context,
        canonical=_canonical(raw, numeric, pick),
        unknown_labels=unknown,
        notes=notes,
        files=[str(path)],
    )


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

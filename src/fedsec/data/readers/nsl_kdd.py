"""NSL-KDD (KDDTrain+, KDDTest+, ...): no header; 41 features, the label and a difficulty.

A file of 42 fields per line (KDD Cup 99 style: no difficulty) is read with its labels; a file of
41 fields (features only: new records to score) is read as unlabeled. The 42nd field, when
present, must be an attack name, not a number (a file missing its label column would otherwise
have its difficulty read as the label).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.canonical import (
    finish_canonical,
    flags_from_states,
    protocol_class,
    service_from_name,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import (
    check_not_negative,
    data_row,
    numeric_block,
    read_csv_checked,
    text_block,
)
from fedsec.data.readers._labels import UNLABELED_NOTE, label_text, unlabeled
from fedsec.data.taxonomy import NSL_KDD_CATEGORY, NSL_KDD_FAMILY_OF_CATEGORY, OTHER

COLUMNS: tuple[str, ...] = (
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
    "label",
    "difficulty",
)
CATEGORICAL: tuple[str, ...] = ("protocol_type", "service", "flag")
#: ``difficulty`` is how many of 21 reference learners got the record right: a property of the
#: benchmark, not of the traffic, so it is never a feature.
NUMERIC: tuple[str, ...] = tuple(
    c for c in COLUMNS if c not in (*CATEGORICAL, "label", "difficulty")
)

#: Bro/Zeek connection states of the KDD records -> TCP flags seen (s=syn, a=ack, f=fin, r=rst).
STATE_FLAGS: dict[str, str] = {
    "SF": "saf",
    "S0": "s",
    "S1": "sa",
    "S2": "saf",
    "S3": "saf",
    "REJ": "sr",
    "RSTO": "sar",
    "RSTR": "sar",
    "RSTOS0": "sr",
    "SH": "sf",
}


def category(labels: pd.Series) -> pd.Series:
    """Attack name -> the five standard NSL-KDD categories (unknown names stay as they are)."""
    return labels.map(lambda name: NSL_KDD_CATEGORY.get(name, name))


#: How the files are read (no header line).
CSV_OPTIONS: dict = {"header": None}


def read(path: Path) -> FlowTable:
    return from_frame(read_csv_checked(path, **CSV_OPTIONS), path)


def from_frame(raw: pd.DataFrame, path: Path) -> FlowTable:
    """The records of ``raw`` (rows of ``path``, indexed by their data row there, 0-based;
    numbered columns)."""
    width = raw.shape[1]
    if width not in (41, 42, 43):
        raise InputError(
            path,
            f"has {width} fields per line; NSL-KDD has 43 (41 features, label, difficulty), "
            "42 (no difficulty) or 41 (features only, unlabeled)",
        )
    raw.columns = list(COLUMNS[:width])
    numeric, _ = numeric_block(raw, NUMERIC, path)
    check_not_negative(raw, numeric, ("duration", "src_bytes", "dst_bytes"), path)
    text = text_block(raw, CATEGORICAL)
    families, labels, unknown, notes = _labels(raw, path)
    return FlowTable(
        source="nsl-kdd",
        native=pd.concat([numeric, text], axis=1)[list(COLUMNS[:41])],
        native_categorical=CATEGORICAL,
        family=families,
        label=labels,
        context=pd.DataFrame(index=raw.index),
        canonical=_canonical(numeric, text),
        unknown_labels=unknown,
        notes=[f"{path}: {note}" for note in notes],
        files=[str(path)],
        source_row=raw.index.to_numpy() + 1,
    )


def _labels(raw: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray, dict, list[str]]:
    if "label" not in raw:
        families, labels = unlabeled(len(raw))
        return families, labels, {}, [UNLABELED_NOTE]
    labels = label_text(raw, "label", path).str.rstrip(".")
    numeric = pd.to_numeric(labels, errors="coerce").notna()
    if numeric.any():
        row = int(np.flatnonzero(numeric.to_numpy())[0])
        raise InputError(
            path,
            f"field 42 should be the label (an attack name), found {labels.iloc[row]!r} "
            f"(data row {data_row(raw, row)}); a file without labels has 41 fields",
        )
    cats = category(labels)
    families = cats.map(NSL_KDD_FAMILY_OF_CATEGORY).fillna(OTHER).to_numpy(dtype=object)
    unknown = labels[~labels.isin(list(NSL_KDD_CATEGORY))].value_counts()
    return (
        families,
        labels.to_numpy(dtype=object),
        {str(k): int(v) for k, v in unknown.items()},
        [],
    )


def _canonical(numeric: pd.DataFrame, text: pd.DataFrame) -> pd.DataFrame:
    protocol = protocol_class(text["protocol_type"])
    flags = flags_from_states(text["flag"].str.upper(), STATE_FLAGS)
    flags.loc[protocol != "tcp"] = 0.0
    base = pd.DataFrame(
        {
            "duration_s": numeric["duration"],
            "fwd_bytes": numeric["src_bytes"],
            "bwd_bytes": numeric["dst_bytes"],
            "fwd_pkts": np.nan,  # KDD connection records carry no packet counts
            "bwd_pkts": np.nan,
            "protocol": protocol,
            "service": service_from_name(text["service"]),
        },
        index=numeric.index,
    )
    return finish_canonical(pd.concat([base, flags], axis=1))

"""Canonical flow CSV (or Parquet): the canonical schema's base columns, written by any tool.

Required: ``duration_s``, ``fwd_bytes``, ``bwd_bytes``, ``fwd_pkts``, ``bwd_pkts``,
``protocol`` (name or number) and ``dst_port`` (or, without ports, a ``service`` class). Optional:
``flag_syn`` .. ``flag_urg`` (presence 0/1; absent or blank = unknown), the context columns
(``timestamp``, ``src_ip``, ``src_port``, ``dst_ip``, ``dst_port``, ``flow_id``, ``campaign``),
``org`` (kept as the row's origin) and labels: ``family`` (canonical family names) or else
``label`` (family names, ``benign``/``normal`` or ATT&CK technique ids). A file without either is
read as unlabeled. The native view of this format is the canonical view itself.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.canonical import (
    CANONICAL_CATEGORICAL,
    CONTEXT_COLUMNS,
    FLAG_COLUMNS,
    SERVICE_OF_PORT,
    finish_canonical,
    protocol_class,
    service_from_name,
    service_from_port,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import (
    PORT,
    PROTOCOL_NUMBER,
    check_not_negative,
    check_range,
    data_row,
    numeric_block,
    require_columns,
)
from fedsec.data.readers._labels import GENERIC, UNLABELED_NOTE, families_of, label_text, unlabeled
from fedsec.data.readers._tables import read_frame
from fedsec.data.taxonomy import FAMILIES

REQUIRED: tuple[str, ...] = ("duration_s", "fwd_bytes", "bwd_bytes", "fwd_pkts", "bwd_pkts")
EXTRA_CONTEXT: tuple[str, ...] = ("campaign",)
#: (families, labels, unknown label counts, notes) of a file's rows.
Labelled = tuple[np.ndarray, np.ndarray, dict[str, int], list[str]]
SERVICE_CLASSES: frozenset[str] = frozenset(
    {*SERVICE_OF_PORT.values(), "other_wellknown", "registered", "dynamic", "unknown"}
)


def read(path: Path) -> FlowTable:
    return from_frame(read_frame(path), path)


def from_frame(raw: pd.DataFrame, path: Path) -> FlowTable:
    """The rows of ``raw`` (read from ``path``; its index: each row's 0-based position in the
    file) as a table: whole files and the chunks of a streamed file take this one path."""
    require_columns(raw, (*REQUIRED, "protocol"), path)
    if "dst_port" not in raw and "service" not in raw:
        raise InputError(path, "missing required columns: dst_port (or a service column)")
    flags = [c for c in FLAG_COLUMNS if c in raw]
    numeric, _ = numeric_block(raw, [*REQUIRED, *flags], path, allow_nonfinite=flags)
    check_range(raw, ["src_port", "dst_port"], path, allow_missing=True, **PORT)
    check_protocol(raw, path)
    check_not_negative(raw, numeric, REQUIRED, path)
    base = numeric.copy()
    for column in FLAG_COLUMNS:
        if column in base:
            base[column] = (base[column] > 0).astype(float).where(base[column].notna())
        else:
            base[column] = np.nan
    base["protocol"] = protocol_class(raw["protocol"])
    base["service"] = _service(raw, path)
    return flow_table(
        finish_canonical(base).reset_index(drop=True),
        labels_of(raw, path),
        _context(raw),
        raw["org"].astype(str).to_numpy(dtype=object) if "org" in raw else None,
        path,
        raw.index.to_numpy(dtype=np.int64) + 1,
    )


def flow_table(
    canonical: pd.DataFrame,
    labelled: Labelled,
    context: pd.DataFrame,
    origin: np.ndarray | None,
    path: Path,
    source_row: np.ndarray,
) -> FlowTable:
    """The table of a flow file's rows: its canonical view (also its native one), labels
    (families, labels, unknown label counts, notes), context, origins and data rows."""
    families, labels, unknown, notes = labelled
    return FlowTable(
        source="flows",
        native=canonical.copy(),
        native_categorical=CANONICAL_CATEGORICAL,
        family=families,
        label=labels,
        context=context,
        canonical=canonical,
        origin=origin,
        unknown_labels=unknown,
        notes=[f"{path}: {note}" for note in notes],
        files=[str(path)],
        source_row=source_row,
    )


def check_protocol(raw: pd.DataFrame, path: Path) -> None:
    """Every row names its protocol; numbers are IP protocol numbers (0..255)."""
    protocol = raw["protocol"]
    blank = protocol.isna().to_numpy() | (protocol.astype(str).str.strip() == "").to_numpy()
    if blank.any():
        row = data_row(raw, int(np.flatnonzero(blank)[0]))
        raise InputError(path, f"column 'protocol' has no value in data row {row}")
    check_range(raw.loc[_is_number(protocol)], ["protocol"], path, **PROTOCOL_NUMBER)


def _is_number(values: pd.Series) -> pd.Series:
    """Which values are numbers, parsing each distinct value once (a protocol column holds a
    handful of distinct names or numbers over millions of rows)."""
    codes, unique = pd.factorize(values, use_na_sentinel=False)
    parsed = pd.to_numeric(pd.Series(unique, dtype=object), errors="coerce").notna().to_numpy()
    return pd.Series(parsed[codes], index=values.index)


def _service(raw: pd.DataFrame, path: Path) -> pd.Series:
    """The port's class when ports are given; else the ``service`` column (class or name)."""
    if "dst_port" in raw:
        return service_from_port(raw["dst_port"])
    names = raw["service"].astype(str).str.strip().str.lower()
    known = names.isin(SERVICE_CLASSES)
    return names.where(known, service_from_name(names)).astype(object)


def labels_of(raw: pd.DataFrame, path: Path) -> Labelled:
    """The rows' labels: a ``family`` column (with ``label`` as the text), else ``label``
    (family names, benign spellings or technique ids), else none."""
    if "family" in raw:
        table = {family: family for family in FAMILIES}
        families, _, unknown = families_of(label_text(raw, "family", path), table)
        labels = label_text(raw, "label", path) if "label" in raw else raw["family"]
        return families, labels.astype(str).str.strip().to_numpy(dtype=object), unknown, []
    if "label" in raw:
        families, labels, unknown = families_of(label_text(raw, "label", path), GENERIC)
        return families, labels, unknown, []
    families, labels = unlabeled(len(raw))
    return families, labels, {}, [UNLABELED_NOTE]


def context_columns(columns: Collection[str]) -> list[str]:
    """The context columns among ``columns``, in the order alerts show them."""
    return [c for c in (*CONTEXT_COLUMNS, *EXTRA_CONTEXT) if c in columns]


def _context(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[context_columns(raw.columns)].reset_index(drop=True)

"""Any flow CSV or Parquet file, read through a :class:`~fedsec.data.mapping.Mapping`.

Native features are every column the mapping does not name as label, context, origin or dropped
(or exactly its ``native`` list): numbers as float64 (text in a numeric column is an error naming
the row; NaN/Infinity only in ``nonfinite`` columns), ``categorical`` columns trimmed and
lower-cased. The canonical view is filled from the ``canonical`` columns; a field the mapping
leaves out is NaN (the preprocessor adds a missing-value indicator), an absent protocol or
service is ``unknown``. Labels map through the mapping's ``families``, then the built-in tables
(docs/taxonomy.md); a label in neither is family ``other`` and counted. A file without the label
columns is read as unlabeled (flows to score).
"""

from __future__ import annotations

import lzma
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from fedsec.core.errors import InputError
from fedsec.data.canonical import (
    BASE_NUMERIC,
    FLAG_COLUMNS,
    finish_canonical,
    flags_from_bitmask,
    protocol_class,
    service_from_name,
    service_from_port,
)
from fedsec.data.flow_times import first_unreadable_time, time_refusal
from fedsec.data.flows import FlowTable
from fedsec.data.leaks import check_not_packets, name_kind
from fedsec.data.mapping import Mapping
from fedsec.data.readers._csv_records import check_separator
from fedsec.data.readers._io import (
    PORT,
    check_not_negative,
    check_range,
    numeric_block,
    require_columns,
    text_block,
)
from fedsec.data.readers._labels import (
    BINARY_ONLY_NOTE,
    UNLABELED_NOTE,
    attack_flags,
    check_agreement,
    label_text,
    unlabeled,
)
from fedsec.data.readers._tables import is_parquet, read_frame
from fedsec.data.readers._time_format import formatted_times
from fedsec.data.taxonomy import BENIGN, OTHER, known_labels, map_labels

#: Canonical fields that count (bytes, packets, flags seen): never below zero. A negative
#: duration is left as every CIC-IDS2017 reader leaves it (the original day files hold some; the
#: canonical view reads it as 0).
NEVER_NEGATIVE = ("fwd_bytes", "bwd_bytes", "fwd_pkts", "bwd_pkts", *FLAG_COLUMNS)


def read(path: Path, mapping: Mapping) -> FlowTable:
    path = Path(path)
    return from_frame(read_frame(path, allow_duplicates=mapping.duplicates), path, mapping)


def from_frame(raw: pd.DataFrame, path: Path, mapping: Mapping) -> FlowTable:
    """The flows of ``raw`` (rows of ``path``, indexed by their data row there, 0-based)."""
    check_not_packets(path, list(raw.columns))
    _require(raw, mapping, path)
    native_columns = _native_columns(raw, mapping)
    if not native_columns:
        raise InputError(path, "the mapping leaves no feature columns (all are label/context/drop)")
    native, notes = _native(raw, native_columns, mapping, path)
    families, labels, unknown, label_notes = _labels(raw, mapping, path)
    return FlowTable(
        source=mapping.name,
        native=native,
        native_categorical=tuple(c for c in mapping.categorical if c in native_columns),
        family=families,
        label=labels,
        context=_context(raw, mapping, path),
        canonical=_canonical(raw, mapping, path) if mapping.canonical else None,
        origin=_origin(raw, mapping),
        unknown_labels=unknown,
        notes=[f"{path}: {note}" for note in notes + label_notes],
        files=[str(path)],
        source_row=raw.index.to_numpy() + 1,
        context_columns={n: c for c, n in mapping.context_names().items() if c != n},
        feature_columns=_feature_columns(mapping),
    )


def _feature_columns(mapping: Mapping) -> dict[str, str]:
    """Canonical field -> the file's column it is read from alone (the base numbers, a flag
    given as its own column, the protocol); derived fields, the service and a bitmask's flags
    are not one column's."""
    fields = [f for f in mapping.canonical if f in (*BASE_NUMERIC, "protocol")]
    return {f: mapping.canonical_column(f).column for f in fields}


def _context(raw: pd.DataFrame, mapping: Mapping, path: Path) -> pd.DataFrame:
    """The context columns, each named by its role (``[roles]``) or else its own name; the
    time read by the mapping's ``time_format``, when it declares one."""
    names = {c: n for c, n in mapping.context_names().items() if c in raw}
    context = raw[list(names)].rename(columns=names)
    column = mapping.time_column()
    if mapping.time_format is not None and column in raw:
        times = formatted_times(raw[column], mapping.time_format, column, path)
        context[names[column]] = times
    elif column in raw:  # every row, as any other value: not only those that raise an alert
        found = first_unreadable_time(raw[column])
        if found is not None:
            raise InputError(path, time_refusal(found[1], int(found[0]) + 1, column))
    return context.reset_index(drop=True)


def _require(raw: pd.DataFrame, mapping: Mapping, path: Path) -> None:
    """Every column the mapping names must be there (the label columns may be absent)."""
    check_header(path, [str(c) for c in raw.columns], mapping)
    for role, column in mapping.roles.items():
        if column not in raw:
            raise InputError(
                path,
                f"the mapping's [roles] gives {role} to column {column!r}, which the file "
                f"lacks (its columns: {', '.join(map(str, raw.columns[:30]))})",
            )
    require_columns(raw, _named(mapping), path)
    missing = mapping.missing_duplicates([str(c) for c in raw.columns])
    if missing:
        raise InputError(path, missing)


def _named(mapping: Mapping) -> dict[str, None]:
    """The columns the mapping names that a file must have (all but the label columns)."""
    named = [*mapping.context_columns(), *mapping.categorical, *mapping.nonfinite]
    named += [
        *(mapping.native or []),
        *(mapping.canonical_column(f).column for f in mapping.canonical),
    ]
    named += [mapping.origin] if mapping.origin else []
    return dict.fromkeys(named)


def check_header(path: Path, columns: list[str], mapping: Mapping) -> None:
    """A header of one column where the mapping names others is refused, before anything
    else is said of the file (its label column missing, ...): it holds another separator
    (``a;b;c``: the file looks semicolon-separated), or only one column was found."""
    if len(columns) != 1:
        return
    if not is_parquet(path):
        check_separator(path, columns)
    lacking = [c for c in [*_named(mapping), mapping.label, mapping.attack_flag] if c]
    lacking = [c for c in dict.fromkeys(lacking) if c != columns[0]]
    if not lacking:
        return
    shown = ", ".join(map(repr, lacking[:3])) + (", ..." if len(lacking) > 3 else "")
    said = f"only one column was found ({columns[0][:60]!r}) where the mapping names "
    said += f"{len(lacking)} more ({shown})"
    if not is_parquet(path):
        said += (
            "; fedsec reads comma-separated CSV: if another character separates its fields, "
            "convert it first (pandas: read_csv(IN, sep=...).to_csv(OUT, index=False))"
        )
    raise InputError(path, said)


def _native_columns(raw: pd.DataFrame, mapping: Mapping) -> list[str]:
    if mapping.native is not None:
        return list(mapping.native)
    excluded = set(mapping.not_features())
    return [c for c in raw.columns if c not in excluded]


def _native(
    raw: pd.DataFrame, columns: list[str], mapping: Mapping, path: Path
) -> tuple[pd.DataFrame, list[str]]:
    categorical = [c for c in columns if c in mapping.categorical]
    numeric_columns = [c for c in columns if c not in mapping.categorical]
    numeric, replaced = numeric_block(raw, numeric_columns, path, allow_nonfinite=mapping.nonfinite)
    text = text_block(raw, categorical)
    native = pd.concat([numeric, text], axis=1)[columns].reset_index(drop=True)
    notes = [f"{replaced} NaN/Infinity values read as missing"] if replaced else []
    suspects = [(c, name_kind(c)) for c in columns if name_kind(c)]
    notes += [
        f"feature column {column!r} looks like a {kind}: such columns identify hosts or attack "
        "windows rather than attacks (move it to context in the mapping)"
        for column, kind in suspects
    ]
    return native, notes


def _canonical(raw: pd.DataFrame, mapping: Mapping, path: Path) -> pd.DataFrame:
    base = pd.DataFrame(index=raw.index)
    for field in BASE_NUMERIC:
        spec = mapping.canonical_column(field)
        if spec is None:
            base[field] = np.nan
            continue
        values, _ = numeric_block(raw, [spec.column], path, allow_nonfinite=mapping.nonfinite)
        if field in NEVER_NEGATIVE:
            check_not_negative(raw, values, [spec.column], path)
        base[field] = values[spec.column] * spec.scale
    for column in FLAG_COLUMNS:  # counts or presence -> presence; unknown stays NaN
        base[column] = (base[column] > 0).astype(float).where(base[column].notna())
    bitmask = mapping.canonical_column("tcp_flags")
    if bitmask is not None:
        bits, _ = numeric_block(raw, [bitmask.column], path)
        base[list(FLAG_COLUMNS)] = flags_from_bitmask(bits[bitmask.column])
    protocol = mapping.canonical_column("protocol")
    base["protocol"] = (
        protocol_class(raw[protocol.column]) if protocol else pd.Series("unknown", raw.index)
    )
    base["service"] = _service(raw, mapping, path)
    return finish_canonical(base).reset_index(drop=True)


def _service(raw: pd.DataFrame, mapping: Mapping, path: Path) -> pd.Series:
    port = mapping.canonical_column("dst_port")
    if port is not None:
        check_range(raw, [port.column], path, allow_missing=True, **PORT)
        return service_from_port(raw[port.column])
    service = mapping.canonical_column("service")
    if service is not None:
        return service_from_name(raw[service.column].fillna("-"))
    return pd.Series("unknown", index=raw.index, dtype=object)


def _labels(
    raw: pd.DataFrame, mapping: Mapping, path: Path
) -> tuple[np.ndarray, np.ndarray, dict[str, int], list[str]]:
    flag = mapping.attack_flag
    attacks = attack_flags(raw, flag, path) if flag and flag in raw else None
    if mapping.label and mapping.label in raw:
        text = label_text(raw, mapping.label, path)
        families, unknown = map_labels(text, {**known_labels(), **mapping.families})
        if attacks is not None:
            check_agreement(raw, families, attacks, (mapping.label, flag), path)
        return families, text.to_numpy(dtype=object), unknown, []
    if attacks is not None:
        families = np.where(attacks, OTHER, BENIGN).astype(object)
        labels = np.where(attacks, "attack", "benign").astype(object)
        return families, labels, {}, [BINARY_ONLY_NOTE]
    families, labels = unlabeled(len(raw))
    missing = mapping.missing_label(list(raw.columns))
    return (
        families,
        labels,
        {},
        [f"{missing}: rows read as unlabeled" if missing else UNLABELED_NOTE],
    )


def missing_label(path: Path, mapping: Mapping) -> str | None:
    """Why the mapping's label column is not in ``path``'s header (None: it is, the mapping
    names none, or the header cannot be read, which reading the file then says); a header
    of one column is refused instead (:func:`check_header`)."""
    try:
        if is_parquet(path):
            columns = pq.ParquetFile(path).schema_arrow.names
        else:
            columns = list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    except (OSError, ValueError, EOFError, lzma.LZMAError, zlib.error):
        return None  # a truncated or corrupt compressed file too: reading it says which
    columns = [str(c).strip() for c in columns]
    check_header(path, columns, mapping)  # a mis-separated file: said first, and alone
    return mapping.missing_label(columns)


def _origin(raw: pd.DataFrame, mapping: Mapping) -> np.ndarray | None:
    if mapping.origin is None:
        return None
    return raw[mapping.origin].astype(str).str.strip().to_numpy(dtype=object)

"""Zeek ASCII data lines to a flow table through Arrow: what :func:`zeek.from_frame` makes of
:func:`zeek_ascii.frame_of`'s frame of strings, without a Python string per field.

The lines (already checked by :func:`zeek_ascii._data_lines`) are parsed by pyarrow as text.
Counters and ports are cast by Arrow where every value is a plain decimal number, which both
parsers read to the same double (correctly rounded). Everything :func:`zeek.from_frame`
derives from text (the categorical columns, labels, protocol, service, TCP flags) is computed
by its own functions once per distinct combination of the columns it reads, then taken back
row by row. Anything else (a blank field, an ``(empty)`` marker in a counter, a column name
with spaces, a counter or port that is not a plain number, a port out of range, an unknown
label) goes the checked way: the frame of strings and ``from_frame``, which
reads it or words the refusal. ``tests/data/readers/test_zeek_arrow.py`` compares both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fedsec.data.flows import FlowTable
from fedsec.data.readers import zeek
from fedsec.data.readers._distinct import distinct_rows
from fedsec.data.readers._io import PORT, text_block
from fedsec.data.readers.zeek_ascii import frame_of

#: A plain decimal number: what Arrow and pandas read alike (to the same double).
NUMBER = r"^[0-9]{1,15}(\.[0-9]{1,15})?$"
#: A port as Zeek writes it: a whole number (its range is checked after).
WHOLE = r"^[0-9]{1,5}$"


def lines_table(data: list[str], header: dict[str, str], path: Path, before: int) -> FlowTable:
    """The flows of checked data lines (``before``: data rows ahead of them in the file)."""
    table = _fast(data, header, path, before)
    if table is None:
        return zeek.from_frame(frame_of(data, header, path, before), path)
    return table


def _fast(data: list[str], header: dict[str, str], path: Path, before: int) -> FlowTable | None:
    columns = header["fields"].split(header["separator"])
    if any(len(name.split()) != 1 for name in columns) or len(set(columns)) != len(columns):
        return None
    raw = _parse(data, header, columns)
    if raw is None or raw.num_rows != len(data) or _has_blank(raw):
        return None
    raw = _emptied(raw, header.get("empty_field", "(empty)"))
    present = set(columns)
    if not _has_required(present):
        return None
    counters = [c for c in zeek.COUNTERS if c in present]
    numbers = _numbers(raw, counters) if _ports_fit(raw, _whole_text) else None
    labelled = _labels(raw) if numbers is not None else None
    if numbers is None or labelled is None:
        return None
    index = pd.RangeIndex(before, before + raw.num_rows)
    return _flow_table(raw, path, index, numbers, labelled)


def typed_table(raw: pa.Table, frame: pd.DataFrame, path: Path) -> FlowTable | None:
    """The flows of a JSON log's chunk that Arrow read (``raw``: its table, text and typed
    numbers; ``frame``: the chunk's frame, indexed by record): what :func:`zeek.from_frame`
    makes of ``frame``, without a Python object per field; None where that takes the checked
    way (a required field missing, a counter or port not read as a number or negative, a port
    out of range, a text field holding numbers, an unknown label)."""
    present = set(raw.column_names)
    if not _has_required(present):
        return None
    counters = [c for c in zeek.COUNTERS if c in present]
    texts = [c for c in (*zeek.CATEGORICAL, "detailed-label", "label") if c in present]
    if not all(pa.types.is_floating(raw.column(c).type) for c in counters):
        return None
    if any((pc.min(raw.column(c)).as_py() or 0.0) < 0 for c in counters):
        return None  # a negative counter: the checked way refuses it, naming the row
    if not all(pa.types.is_string(raw.column(c).type) for c in texts):
        return None
    if not _ports_fit(raw, _whole_typed):
        return None
    labelled = _labels(raw)
    if labelled is None:
        return None
    numbers = {c: pc.fill_null(raw.column(c), 0.0).to_numpy() for c in counters}
    context = frame[[c for c in zeek.CONTEXT if c in frame]].rename(columns=zeek.CONTEXT)
    return _flow_table(raw, path, frame.index, numbers, labelled, context)


def _parse(data: list[str], header: dict[str, str], columns: list[str]) -> pa.Table | None:
    """The lines as text columns (null: the unset marker)."""
    try:
        return pacsv.read_csv(
            pa.py_buffer("\n".join(data).encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=columns, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=header["separator"], quote_char=False, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()),
                null_values=[header.get("unset_field", "-")],
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, ValueError):  # ValueError: text that is not UTF-8 again
        return None


def _has_blank(raw: pa.Table) -> bool:
    """A blank field (the checked way refuses it, naming the row)."""
    return any(pc.any(pc.equal(raw.column(c), "")).as_py() for c in raw.column_names)


def _emptied(raw: pa.Table, empty: str) -> pa.Table:
    """The empty marker as empty text, as the frame of strings holds it."""
    for i, name in enumerate(raw.column_names):
        column = raw.column(i)
        if pc.any(pc.equal(column, empty)).as_py():
            raw = raw.set_column(i, name, pc.if_else(pc.equal(column, empty), "", column))
    return raw


def _matches(column: pa.ChunkedArray, pattern: str) -> bool:
    """Every set value of ``column`` matches ``pattern``."""
    return bool(pc.all(pc.match_substring_regex(column, pattern)).as_py() is not False)


def _has_required(present: set[str]) -> bool:
    """The fields the checked way requires (else it words their absence)."""
    required = set(zeek.REQUIRED) <= present
    return required and all(any(c in present for c in pair) for pair in zeek.BYTE_PAIRS)


def _ports_fit(raw: pa.Table, whole: Callable[[pa.ChunkedArray], pa.ChunkedArray | None]) -> bool:
    """Both ports whole numbers in range, the destination's set on every row (what the
    checked way's range checks accept); ``whole``: a port column as integers (None: it does
    not hold whole numbers)."""
    for name, required in (("id.resp_p", True), ("id.orig_p", False)):
        if name not in raw.column_names:
            continue
        column = raw.column(name)
        numbers = None if required and column.null_count else whole(column)
        if numbers is None:
            return False
        low, high = pc.min(numbers).as_py(), pc.max(numbers).as_py()
        if low is not None and (low < PORT["low"] or high > PORT["high"]):
            return False
    return True


def _whole_text(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Ports written as Zeek writes them, as integers."""
    return pc.cast(column, pa.int64()) if _matches(column, WHOLE) else None


def _whole_typed(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Ports a JSON log gave as whole numbers."""
    return column if pa.types.is_integer(column.type) else None


def _numbers(raw: pa.Table, counters: Sequence[str]) -> dict[str, np.ndarray] | None:
    """Each counter as float64, unset as 0, when every set value is a plain number."""
    out = {}
    for name in counters:
        column = raw.column(name)
        if not _matches(column, NUMBER):
            return None
        out[name] = pc.fill_null(pc.cast(column, pa.float64()), 0.0).to_numpy()
    return out


def _labels(raw: pa.Table) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """The rows' families and labels, read once per distinct label pair (None: some label is
    unknown, whose count the checked way gives per row)."""
    names = [c for c in ("detailed-label", "label") if c in raw.column_names]
    rows, distinct = _distinct(raw, names)
    families, labels, unknown, notes = zeek.labels_of(distinct)
    return None if unknown else (families[rows], labels[rows], notes)


def _distinct(raw: pa.Table, names: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position among the distinct rows of ``names`` and those rows as a frame of
    strings (NaN: unset), as the frame of strings holds them."""
    rows, first = distinct_rows(raw, names)
    taken = pa.array(first)
    frame = pd.DataFrame(
        {name: _strings(raw.column(name).take(taken)) for name in names},
        index=pd.RangeIndex(len(first)),
    )
    return rows, frame


def _strings(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Text as Python strings, NaN where unset (the frame of strings' values)."""
    values = column.to_numpy(zero_copy_only=False).astype(object)
    values[pd.isna(values)] = np.nan
    return values


def _per_distinct(
    raw: pa.Table, names: Sequence[str], index: pd.Index, make: Callable[[pd.DataFrame], object]
) -> pd.DataFrame:
    """``make`` of the distinct rows of ``names``, taken back for every row."""
    codes, distinct = _distinct(raw, names)
    made = pd.DataFrame(make(distinct))
    out = made.iloc[codes]
    out.index = index
    return out


def _flow_table(
    raw: pa.Table,
    path: Path,
    index: pd.Index,
    numbers: dict[str, np.ndarray],
    labelled: tuple[np.ndarray, np.ndarray, list[str]],
    context: pd.DataFrame | None = None,
) -> FlowTable:
    """The table from its parts (``context``: the context columns, else taken from ``raw``'s
    text, as the frame of strings holds them)."""
    present = raw.column_names
    notes = []
    unset = {c: raw.column(c).null_count for c in numbers if raw.column(c).null_count}
    if unset:
        notes.append(f"unset counters read as 0: {unset}")
    numeric = pd.DataFrame(numbers, index=index)
    categorical = [c for c in zeek.CATEGORICAL if c in present]
    native = numeric.copy()
    if categorical:
        native[categorical] = _per_distinct(
            raw,
            categorical,
            index,
            lambda d: text_block(d.fillna({c: "-" for c in categorical}), categorical),
        ).to_numpy()
    families, labels, label_notes = labelled
    if context is None:
        context = pd.DataFrame(
            {zeek.CONTEXT[c]: _strings(raw.column(c)) for c in zeek.CONTEXT if c in present},
            index=index,
            dtype=object,  # as the frame of strings holds them, not pandas' string type
        )
    canonical = _canonical(raw, numeric, index)
    return zeek.table_of(
        path, native, categorical, (families, labels, {}), context, canonical, notes + label_notes
    )


def _canonical(raw: pa.Table, numeric: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """:func:`zeek.canonical`: the numbers per row, the text-derived columns per distinct
    (protocol, port, history, state)."""
    text = [c for c in ("proto", "id.resp_p", "history", "conn_state") if c in raw.column_names]
    return zeek.canonical(numeric, _per_distinct(raw, text, index, zeek.text_derived))

"""The canonical flow table of one batch of a streamed flow file, built from its Arrow columns:
what ``fedsec detect`` reads from a flow CSV, Parquet or Arrow IPC file chunk by chunk.

:func:`flows.from_frame` checks and converts a pandas frame value by value. Here the numbers go
from Arrow to numpy once and are checked as arrays; the text columns a flow file repeats over
millions of rows (protocol, labels, org) are checked and read once per distinct value, by the
very functions ``from_frame`` applies to every row (and the protocol and label checks once per
process for the same distinct values: the next chunk repeats them); a port finds its service in
a table of all 65,536; protocol and service stay Arrow text up to pandas' string column. The
table is the one ``from_frame`` builds from the batch's pandas frame, value for value
(tests/data/readers/test_flows_arrow.py). A batch this path does not cover (text where numbers
are expected, a missing value in a text column, a value the checks refuse, no ``dst_port``, a
label outside the taxonomy, column names to trim) goes to ``from_frame``, which also words the
refusal with its row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from fedsec.core.errors import InputError
from fedsec.data.canonical import (
    CANONICAL_COLUMNS,
    FLAG_COLUMNS,
    SERVICE_OF_PORT,
    protocol_class,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers import flows
from fedsec.data.readers._distinct import distinct_rows
from fedsec.data.readers._io import PORT

#: The label columns, read together once per distinct pair.
LABEL_COLUMNS: tuple[str, ...] = ("family", "label")
PORTS: tuple[str, ...] = ("src_port", "dst_port")
#: The row of :func:`_services` that stands for a missing port.
NO_PORT = PORT["high"] + 1
#: The dtype pandas infers for a column of Python strings, and the Arrow type it holds.
TEXT = pd.Series([""]).dtype
TEXT_TYPE = pa.large_string()
#: Distinct values already checked (:func:`_once`): at most ``CHECKED_MAX`` sets of at most
#: ``KEPT_ROWS`` distinct rows each.
_CHECKED: dict[tuple, Any] = {}
CHECKED_MAX = 256
KEPT_ROWS = 1024
T = TypeVar("T")


def from_arrow(batch: pa.Table, path: Path, first_row: int) -> FlowTable:
    """The rows of ``batch`` (read from ``path``; ``first_row``: the 0-based position of its
    first row in the file) as :func:`flows.from_frame` reads them."""
    if batch.num_rows and all(clean_name(n) == n for n in batch.column_names):
        try:
            table = _table(batch, path, first_row)
        except InputError:  # refused: from_frame says why and where
            table = None
        if table is not None:
            return table
    return flows.from_frame(pandas_frame(batch, first_row), path)


def pandas_frame(batch: pa.Table, first_row: int) -> pd.DataFrame:
    """The batch as the pandas frame the readers take: column names trimmed, rows numbered
    from ``first_row`` (their 0-based position in the file)."""
    frame = batch.to_pandas()
    frame.columns = [clean_name(c) for c in frame.columns]
    frame.index = pd.RangeIndex(first_row, first_row + len(frame))
    return frame


def clean_name(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def _table(batch: pa.Table, path: Path, first_row: int) -> FlowTable | None:
    """The table, or None when the batch is not one this path reads."""
    present = set(batch.column_names)
    if len(present) < batch.num_columns or not {*flows.REQUIRED, "protocol", "dst_port"} <= present:
        return None
    flags = [c for c in FLAG_COLUMNS if c in present]
    numbers = _numbers(batch, [*flows.REQUIRED, *flags, *(c for c in PORTS if c in present)])
    if numbers is None or not _valid(numbers):
        return None
    protocol = _distinct_rows(batch, ["protocol"])
    labels = _distinct_rows(batch, [c for c in LABEL_COLUMNS if c in present])
    org = _distinct_rows(batch, ["org"] if "org" in present else [])
    if protocol is None or labels is None or org is None:
        return None
    labelled = _labels(*labels, path)
    if labelled is None:
        return None
    canonical = _canonical(numbers, _protocol(*protocol, path))
    context = batch.select(flows.context_columns(present)).to_pandas().reset_index(drop=True)
    rows = np.arange(first_row + 1, first_row + batch.num_rows + 1, dtype=np.int64)
    return flows.flow_table(canonical, labelled, context, _origin(*org), path, rows)


def _canonical(
    numbers: dict[str, np.ndarray], protocol: pd.api.extensions.ExtensionArray
) -> pd.DataFrame:
    """:func:`finish_canonical` of the base columns, for counts already checked finite and
    not negative: the same columns, derived by the same operations in the same order (the
    text columns taken in Arrow, as pandas' strings: no Python object per row)."""
    n = len(protocol)
    out: dict[str, object] = {c: numbers[c] for c in flows.REQUIRED}
    for column in FLAG_COLUMNS:
        out[column] = _presence(numbers[column]) if column in numbers else np.full(n, np.nan)
    duration = out["duration_s"] + 1e-3  # clip(lower=0).fillna(0): nothing to clip or fill
    with np.errstate(over="ignore"):  # an infinite result is refused (FlowTable)
        out["bytes_per_s"] = (out["fwd_bytes"] + out["bwd_bytes"]) / duration
        out["pkts_per_s"] = (out["fwd_pkts"] + out["bwd_pkts"]) / duration
        for side in ("fwd", "bwd"):
            packets = out[f"{side}_pkts"]
            size = np.zeros(n)
            np.divide(out[f"{side}_bytes"], packets, out=size, where=packets > 0)
            out[f"{side}_pkt_size"] = size
    out["protocol"] = protocol
    out["service"] = _text(_service_text().take(_port_rows(numbers["dst_port"])))
    return pd.DataFrame({c: out[c] for c in CANONICAL_COLUMNS})


def _numbers(batch: pa.Table, columns: Sequence[str]) -> dict[str, np.ndarray] | None:
    """Numeric columns as float64 (missing: NaN; a column with no value at all is read as
    Arrow's null type); None when one holds anything but numbers."""
    out = {}
    for column in columns:
        values = batch.column(column)
        if pa.types.is_null(values.type):
            out[column] = np.full(len(values), np.nan)
        elif pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            out[column] = np.asarray(values.to_numpy(), dtype=np.float64)
        else:
            return None
    return out


def _valid(numbers: dict[str, np.ndarray]) -> bool:
    """What ``from_frame`` checks of the numbers: required ones finite and not negative, ports
    (where given) whole numbers in 0..65535."""
    for column in flows.REQUIRED:
        values = numbers[column]
        if not (np.isfinite(values).all() and (values >= 0).all()):
            return False
    for column in PORTS:
        if column in numbers:
            values = numbers[column][~np.isnan(numbers[column])]
            good = np.isfinite(values) & (values >= PORT["low"]) & (values <= PORT["high"])
            if not (good.all() and (np.mod(values, 1) == 0).all()):
                return False
    return True


def _presence(values: np.ndarray) -> np.ndarray:
    """A flag column as presence: 1.0 when above 0, 0.0 otherwise, NaN when not a number."""
    return np.where(np.isfinite(values), (values > 0).astype(float), np.nan)


def _port_rows(ports: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(ports), NO_PORT, ports).astype(np.int64)


@functools.cache
def _services() -> np.ndarray:
    """The service class of every port, and (last) of a missing port: what
    :func:`service_from_port` gives each (tests/data/readers/test_flows_arrow.py)."""
    ports = np.arange(NO_PORT)
    ranges = np.where(ports < 49152, "registered", "dynamic")
    table = np.where(ports < 1024, "other_wellknown", ranges).astype(object)
    for port, service in SERVICE_OF_PORT.items():
        table[port] = service
    return np.append(table, np.array(["unknown"], dtype=object))


@functools.cache
def _service_text() -> pa.Array:
    """:func:`_services` as Arrow text."""
    return pa.array(_services(), TEXT_TYPE)


def _text(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    """Arrow text as the pandas strings a frame of Python strings infers (no copy per row)."""
    return pd.array(values, dtype=TEXT)


def _distinct_rows(
    batch: pa.Table, columns: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame] | None:
    """Each row's position among the distinct rows of ``columns``, and those rows as a pandas
    frame (in order of first appearance); None for a column of another type than text or
    numbers, or with missing values (whose pandas form depends on the file's metadata)."""
    for column in columns:
        array = batch.column(column)
        if array.null_count or not _plain(array.type):
            return None
    rows, first = distinct_rows(batch, columns)
    taken = pa.array(first)
    frame = pd.DataFrame(
        {c: batch.column(c).take(taken).to_pandas() for c in columns},
        index=pd.RangeIndex(len(first)),
    )
    return rows, frame


def _plain(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
    )


def _protocol(
    rows: np.ndarray, distinct: pd.DataFrame, path: Path
) -> pd.api.extensions.ExtensionArray:
    """Each row's protocol class (its value checked as ``from_frame`` checks it)."""

    def classes() -> pa.Array:
        flows.check_protocol(distinct, path)
        return pa.array(protocol_class(distinct["protocol"]).to_numpy(dtype=object), TEXT_TYPE)

    return _text(_once("protocol", distinct, classes).take(rows))


def _origin(rows: np.ndarray, distinct: pd.DataFrame) -> np.ndarray | None:
    """Each row's ``org`` as text (None: the file has no such column)."""
    if "org" not in distinct:
        return None
    return distinct["org"].astype(str).to_numpy(dtype=object)[rows]


def _labels(rows: np.ndarray, distinct: pd.DataFrame, path: Path) -> flows.Labelled | None:
    """The rows' labels, read once per distinct (family, label); None when some label is not
    known (``from_frame`` counts those per row)."""
    if distinct.shape[1] == 0:
        return flows.labels_of(pd.DataFrame(index=pd.RangeIndex(len(rows))), path)
    families, labels, unknown, notes = _once(
        "labels", distinct, lambda: flows.labels_of(distinct, path)
    )
    if unknown:
        return None
    return families[rows], labels[rows], {}, list(notes)


def _once(kind: str, distinct: pd.DataFrame, check: Callable[[], T]) -> T:
    """``check()`` of the distinct values in ``distinct``, computed once per process for the
    same values of the same types (a flow file repeats them chunk after chunk; a refusal is
    not kept, so it is raised again, by every chunk that holds the value). Only a few distinct
    rows are kept (a column of free text is checked chunk by chunk, its memory not kept)."""
    if len(distinct) > KEPT_ROWS:
        return check()
    key = (kind, *((c, str(distinct[c].dtype), *distinct[c].tolist()) for c in distinct.columns))
    found = _CHECKED.get(key)
    if found is None:  # (a chunk read ahead in a thread may clear the others meanwhile)
        found = check()
        if len(_CHECKED) >= CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = found
    return found

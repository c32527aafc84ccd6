"""What an alert's id is made of: the row's content (its values as read) and its place.

An alert's ``event.id`` hashes the bundle, the organization, a fingerprint of the flagged row's
values (its own columns, its context and its label, as read) and its data row in its input.
The content tells apart the flows that took one place in turn (a file replaced at its path, a
rotated log's successor), with or without a time of their own; the row tells apart identical
rows of one input (the same content counted twice is two flows). Neither depends on the file's
name, the run, the chunk or the process: the same input scored again (renamed, rotated, piped,
followed) gives the same ids. The row rather than the content's occurrence number: it is the
row's own (no count carried across chunks, worker processes and restarts of ``--follow``); a
flow that moves to another row (a row inserted before it) gets a new id, a duplicate, not a
lost alert."""

from __future__ import annotations

import hashlib
from operator import methodcaller
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from fedsec.data.flows import FlowTable


class FlowPlace(NamedTuple):
    """What tells a flow's alert from every other: its content's fingerprint and data row."""

    fingerprint: int
    row: int


def alert_place(record: dict) -> object:
    """What places an alert record (``event_id``): a flow's content and row, else its session
    (and the session's occurrence in its file, when its id came before)."""
    if "fingerprint" in record:
        return FlowPlace(record["fingerprint"], record["source_row"])
    where = record.get("session", record.get("source_row"))
    if record.get("occurrence"):  # a session id seen before in the file: an id of its own
        return f"{where}\0{record['occurrence']}"
    return where


def _comparable(column: pd.Series) -> pd.Series:
    """A column's values as one type whatever the chunk read them as: numbers as float64
    (an integer column with a gap in one chunk is float there), one NaN, one zero; the rest as
    Python objects (text)."""
    if is_numeric_dtype(column.dtype) or is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), np.nan, values) + 0.0  # -0.0 and NaN payloads
        return pd.Series(values, copy=False)
    values = column.astype(object).to_numpy()
    return pd.Series(np.where(pd.isna(values), None, values), dtype=object)


def row_fingerprints(table: FlowTable, rows: np.ndarray) -> np.ndarray:
    """Per row of ``rows`` (positions in ``table``), a 64-bit hash of its values as read: its
    own columns, its context (time, addresses, ports ...) and its label, in column order."""
    parts = [table.native.iloc[rows], table.context.iloc[rows]]
    columns = [_comparable(frame[name]) for frame in parts for name in frame.columns]
    columns.append(_comparable(pd.Series(np.asarray(table.label[rows], dtype=object))))
    frame = pd.concat(columns, axis=1, ignore_index=True)
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return np.asarray(hashed, dtype=np.uint64)


def id_head(model_sha256: str, organization: str | None) -> bytes:
    """What every alert's id of a run hashes first: the bundle and the organization."""
    return f"{model_sha256}\0{organization or ''}\0".encode()


def id_digits(head: bytes, fingerprints: np.ndarray, rows: np.ndarray) -> bytes:
    """sha256 of ``head``, each fingerprint and its data row: the first 32 hex digits of
    each, one after the other (ASCII)."""
    tails = np.empty((len(rows), 2), dtype=">u8")
    tails[:, 0], tails[:, 1] = fingerprints, rows
    data = tails.tobytes()
    keys = [head + data[i : i + 16] for i in range(0, len(data), 16)]
    digests = b"".join(map(methodcaller("digest"), map(hashlib.sha256, keys)))
    table = np.frombuffer(digests, dtype=np.uint8).reshape(len(keys), 32)[:, :16]
    return table.tobytes().hex().encode("ascii")


def content_id(head: bytes, fingerprint: int, row: int) -> str:
    """One alert's id (:func:`id_digits`)."""
    return id_digits(head, np.asarray([fingerprint], np.uint64), np.asarray([row])).decode()


def add_fingerprints(records: list[dict], table: FlowTable, rows: np.ndarray) -> None:
    """Each record's ``fingerprint`` (``rows``: its row in ``table``), which its id hashes."""
    for record, fingerprint in zip(records, row_fingerprints(table, rows).tolist(), strict=True):
        record["fingerprint"] = fingerprint

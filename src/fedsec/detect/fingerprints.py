"""What an alert's id is made of: the row's content (its values, whatever their type) and its place.

An alert's ``event.id`` hashes the bundle, the organization, a fingerprint of the flagged row's
values (its own columns, its context and its label, whatever type a chunk read them as) and
its data row in its input.
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
import struct
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


#: Mixed into a text value's hash, so text never hashes as a number does.
_TEXT = np.uint64(0x9E3779B97F4A7C15)


def _canonical(values: np.ndarray) -> np.ndarray:
    """Float64 numbers with one NaN and one zero (no -0.0, no NaN payloads)."""
    return np.where(np.isnan(values), np.nan, values) + 0.0


def _value_hashes(column: pd.Series) -> np.ndarray:
    """Per value, a 64-bit hash that does not depend on the type the chunk read the column as:
    every null (None, NaN, NA) is one null; a value that reads as a number ("0123", 123,
    True) hashes as that number, as a numeric column would read it; the rest as its text."""
    if is_numeric_dtype(column.dtype) or is_bool_dtype(column.dtype):
        return pd.util.hash_array(_canonical(column.to_numpy(np.float64, na_value=np.nan)))
    codes, uniques = pd.factorize(column.astype(object).to_numpy(), use_na_sentinel=True)
    kinds = np.asarray(uniques, dtype=object)
    numbers = pd.to_numeric(pd.Series(kinds, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    texts = np.isnan(numbers)
    hashes = pd.util.hash_array(_canonical(numbers))
    if texts.any():
        hashes[texts] = pd.util.hash_array(kinds[texts]) ^ _TEXT
    nulls = pd.util.hash_array(np.array([np.nan]))
    return np.where(codes < 0, nulls, hashes[np.maximum(codes, 0)] if len(hashes) else nulls)


def row_fingerprints(table: FlowTable, rows: np.ndarray) -> np.ndarray:
    """Per row of ``rows`` (positions in ``table``), a 64-bit hash of its values: its own
    columns, its context (time, addresses, ports ...) and its label, in column order, each
    value whatever type its chunk read its column as (:func:`_value_hashes`)."""
    parts = [table.native.iloc[rows], table.context.iloc[rows]]
    columns = [_value_hashes(frame[name]) for frame in parts for name in frame.columns]
    columns.append(_value_hashes(pd.Series(np.asarray(table.label[rows], dtype=object))))
    frame = pd.DataFrame(dict(enumerate(columns)), copy=False)
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
    """One alert's id, as :func:`id_digits` gives it (the record path: no arrays per alert)."""
    return hashlib.sha256(head + struct.pack(">QQ", fingerprint, row)).hexdigest()[:32]


def add_fingerprints(records: list[dict], table: FlowTable, rows: np.ndarray) -> None:
    """Each record's ``fingerprint`` (``rows``: its row in ``table``), which its id hashes."""
    for record, fingerprint in zip(records, row_fingerprints(table, rows).tolist(), strict=True):
        record["fingerprint"] = fingerprint

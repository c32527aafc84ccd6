"""Zeek JSON logs (``LogAscii::use_json``: one flat object per line, unset fields left out),
read whole or in chunks of records that a whole read would give alike.

A record's columns are the keys of all the log's records (first appearance first): a field unset
in every row of one chunk is still a column of it. A chunked read therefore first scans the log
block by block (:class:`zeek_json_arrow.Scan`: its keys, and whether Arrow reads its records as
``json`` does), then reads its records chunk by chunk, by Arrow or line by line by ``json``.
Memory stays bounded by the chunk and the block. Read by ``json``, values keep the type their
JSON gives them (a count an int, a duration a float), except a numeric column's numbers, read
as floats; booleans are ``T``/``F`` and sets/vectors comma-joined text, as in ASCII logs; a
JSON ``null`` is unset (NaN). A log that changes between the scan and the reading (a field the
scan did not see) is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from fedsec.core.cores import available_cores
from fedsec.core.errors import InputError
from fedsec.data.readers._input import Limits, limits, text_blocks
from fedsec.data.readers.json_depth import MAX_DEPTH, too_deep
from fedsec.data.readers.zeek_json_arrow import JsonChunk, Plan, Scan, arrow_chunk, scanned

#: Values a record keeps as they are (booleans are written T/F column by column, in
#: :func:`_frame`; a list is converted or refused value by value, in :func:`_value`).
_PLAIN = frozenset({str, int, float, bool, type(None)})
#: What a numeric column holds to be read as floats (NaN: a key left out; None: ``null``).
_NUMBER_KINDS = frozenset({int, float, type(None)})


#: Blocks scanned at once (two cores' worth: the scan runs before any chunk is scored; the
#: chunks are read one at a time: two at once took 15 % less time on a million rows, and
#: 1,043 MiB instead of 779).
SCAN_WORKERS = min(2, available_cores())


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


#: One decoder for every line (``json.loads`` with an option builds one per call).
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def json_rows(text: str, path: Path, caps: Limits, numeric: Collection[str]) -> pd.DataFrame:
    """The whole log's records as a frame (columns: every key, first appearance first;
    ``numeric``: columns read as floats where they hold numbers only)."""
    scan = Scan()
    scan.add(text)
    plan = _checked_plan(scan, path, caps, lambda: _records(text, path, caps, 1, 0))
    if plan.schema is None:
        return _frame(_records(text, path, caps, 1, 0), plan, 0, numeric, path)
    lines = [line for line in text.split("\n") if line.strip()]
    _check_row_cap(path, len(lines), caps)
    return _arrow_chunk(lines, 0, plan, numeric, path).frame


def json_chunks(
    path: Path,
    rows: int,
    numeric: Collection[str],
    caps: Limits | None = None,
    block_bytes: int = 1 << 20,
) -> Iterator[JsonChunk]:
    """The log's records in chunks of ``rows`` rows, their frames indexed by their record
    (0-based), each with all the log's columns: the frames a whole read gives, sliced (and
    Arrow's table where Arrow read them)."""
    caps = caps or limits()
    scan = Scan()
    for found in scanned(text_blocks(path, caps, block_bytes=block_bytes), SCAN_WORKERS):
        scan.merge(found)
        if len(scan.names) > caps.max_columns:
            break
    plan = _checked_plan(scan, path, caps, lambda: _read_every_line(path, caps, block_bytes))
    blocks = text_blocks(path, caps, block_bytes=block_bytes)
    if plan.schema is None:  # line by line by json
        for records, before in _chunked(_block_records(blocks, path, caps), rows):
            yield JsonChunk(_frame(records, plan, before, numeric, path))
    else:  # by Arrow, with the plan's types
        for lines, before in _chunked(_block_lines(blocks, path, caps), rows):
            yield _arrow_chunk(lines, before, plan, numeric, path)


def _checked_plan(scan: Scan, path: Path, caps: Limits, every_line: Callable[[], object]) -> Plan:
    """The scan's plan; with more keys than the cap, ``every_line()`` raises a line's refusal
    first, as reading the records line by line does, else the cap's."""
    if len(scan.names) > caps.max_columns:
        every_line()
        raise InputError(path, f"has more than {caps.max_columns} distinct fields")
    return scan.plan()


def _chunked(parts: Iterable[list], rows: int) -> Iterator[tuple[list, int]]:
    """The parts' items, ``rows`` at a time (the rest last), each with the items before it."""
    pending: list = []
    before = 0
    for part in parts:
        pending += part
        while len(pending) >= rows:
            yield pending[:rows], before
            pending, before = pending[rows:], before + rows
    if pending or before == 0:
        yield pending, before


def _block_records(blocks: Iterable[str], path: Path, caps: Limits) -> Iterator[list[dict]]:
    """Each block's records, read line by line by ``json`` and refused as a whole read does."""
    line, seen = 1, 0
    for block in blocks:
        records = _records(block, path, caps, line, seen)
        line += block.count("\n")
        seen += len(records)
        yield records


def _read_every_line(path: Path, caps: Limits, block_bytes: int) -> None:
    """Every line's refusal, in order (the records are not kept)."""
    for _ in _block_records(text_blocks(path, caps, block_bytes=block_bytes), path, caps):
        pass


def _block_lines(blocks: Iterable[str], path: Path, caps: Limits) -> Iterator[list[str]]:
    """Each block's lines that hold something (the row cap checked)."""
    seen = 0
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        seen += len(lines)
        _check_row_cap(path, seen, caps)
        yield lines


def _arrow_chunk(
    lines: list[str], before: int, plan: Plan, numeric: Collection[str], path: Path
) -> JsonChunk:
    try:
        return arrow_chunk(lines, plan, before, numeric)
    except pa.ArrowException as error:  # the first scan read these lines alike
        raise _changed(path, _unseen(lines, plan) or error) from None


def _unseen(lines: list[str], plan: Plan) -> str | None:
    """The first key of the lines that the plan lacks, in words (None: none)."""
    known = set(plan.columns)
    for line in lines:
        try:
            record = None if too_deep(line) else json.loads(line)
        except (ValueError, RecursionError):
            continue
        unseen = [key for key in record if key not in known] if isinstance(record, dict) else []
        if unseen:
            return _unseen_words(unseen[0])
    return None


def _unseen_words(key: str) -> str:
    return f"a field the first scan did not see: {key!r}"


def _changed(path: Path, why: object) -> InputError:
    return InputError(path, f"changed while it was read ({why})")


def _check_row_cap(path: Path, count: int, caps: Limits) -> None:
    if caps.max_rows is not None and count > caps.max_rows:
        raise InputError(path, f"has more than {caps.max_rows} rows (FEDSEC_MAX_ROWS)")


def _records(text: str, path: Path, caps: Limits, line: int, before: int) -> list[dict]:
    """The records of whole lines (``line``: the first one's number in the file; ``before``:
    records ahead of them), refused as a whole read refuses them, line by line."""
    records = []
    for number, text_line in enumerate(text.split("\n"), start=line):
        if not text_line.strip():
            continue
        records.append(_record(text_line, path, number))
        if len(records[-1]) > caps.max_columns:
            raise InputError(path, f"line {number} has more than {caps.max_columns} fields")
        _check_row_cap(path, before + len(records), caps)
    return records


def _record(line: str, path: Path, number: int) -> dict:
    if too_deep(line):
        raise InputError(path, f"line {number} nests deeper than {MAX_DEPTH} levels")
    try:  # (json.loads refuses a byte order mark in its own words)
        record = json.loads(line) if line.startswith("\ufeff") else _DECODER.decode(line)
    except (ValueError, RecursionError) as error:
        raise InputError(path, f"line {number} is not JSON: {error}") from None
    if not isinstance(record, dict):
        raise InputError(
            path, f"line {number} is a JSON {type(record).__name__}, not a Zeek record"
        )
    if _PLAIN.issuperset(map(type, record.values())):
        return record
    return {key: _value(v, key, path, number) for key, v in record.items()}


def _value(value: object, key: str, path: Path, line: int) -> object:
    """Zeek's JSON writer: booleans are T/F in ASCII logs; sets and vectors are arrays."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return ",".join(str(v) for v in value)
    if isinstance(value, (list, dict)):
        raise InputError(path, f"line {line}: field {key!r} is a nested JSON value")
    return value


def _frame(
    records: list[dict], plan: Plan, before: int, numeric: Collection[str], path: Path
) -> pd.DataFrame:
    """The records as a frame of their values (NaN: unset; booleans T/F), rows numbered from
    ``before``; a ``numeric`` column whose values are all numbers (or unset) as floats."""
    columns = plan.columns
    known = set(columns)
    if not all(map(known.issuperset, records)):
        unseen = next(key for record in records for key in record if key not in known)
        raise _changed(path, _unseen_words(unseen))
    frame = pd.DataFrame(records, columns=columns, dtype=object)  # a key left out: NaN
    for column in columns:
        values = frame[column].to_numpy()
        kinds = set(map(type, values))
        floats = _floats(values) if column in numeric and kinds <= _NUMBER_KINDS else None
        if floats is not None:
            frame[column] = floats
        elif bool in kinds or type(None) in kinds:  # (a Series: no text type inferred)
            frame[column] = pd.Series(_unset_and_flags(values), index=frame.index, dtype=object)
    frame.index = pd.RangeIndex(before, before + len(records))
    return frame


def _floats(values: np.ndarray) -> np.ndarray | None:
    """The numbers as floats (None: an integer beyond a float's range, left as it is for the
    reader's number check to refuse, naming it)."""
    try:
        return np.array(values, dtype=np.float64)
    except OverflowError:
        return None


def _unset_and_flags(values: np.ndarray) -> np.ndarray:
    """JSON ``null`` as NaN, ``true``/``false`` as Zeek's ASCII T/F."""
    out = values.copy()
    out[np.equal(values, None)] = np.nan
    flags = np.fromiter((type(v) is bool for v in values), dtype=bool, count=len(values))
    out[flags] = np.where(values[flags].astype(bool), "T", "F")
    return out

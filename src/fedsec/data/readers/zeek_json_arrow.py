"""A Zeek JSON log's first scan, and its records read by pyarrow's JSON reader where that reads
them as Python's ``json`` does.

The scan (:class:`Scan`, block by block) finds every key, first appearance first, and decides
for the whole log whether its chunks can be read by Arrow: only when Arrow read every block,
one object per line (a line of ``null`` or of two objects, or a byte order mark, is not), each
field always of one kind (numbers, text, booleans, sets of text), no ``NaN`` or
``Infinity``, which Arrow reads and ``json`` refuses, and no line nesting deeper than
:data:`~fedsec.data.readers.json_depth.MAX_DEPTH` levels (Arrow's parser would overflow the
stack on it; ``json`` refuses it by line number). Else
every record of the log is read by ``json`` (:mod:`fedsec.data.readers.zeek_json`); one
decision per log, so a chunk and a whole read are read the same way.

Read by Arrow, a numeric column's numbers are floats (as read by ``json``), other whole numbers
Python ints (a port shows as ``80``) and other numbers floats; ``true`` and ``false`` are
``T``/``F``, a set is comma-joined text, and text stays Arrow text in pandas.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from fedsec.core.ordered import ordered_map
from fedsec.data.readers.json_depth import MAX_DEPTH, deep_lines, too_deep

#: What each kind of field is read as by Arrow.
TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "number": pa.float64(),
    "text": pa.string(),
    "flag": pa.bool_(),
    "set": pa.list_(pa.string()),
}


@dataclass(frozen=True)
class Plan:
    """The log's columns, and the types Arrow reads its records with (None: ``json`` reads
    them)."""

    columns: list[str]
    schema: pa.Schema | None


@dataclass(frozen=True)
class BlockScan:
    """What one block of whole lines says: its keys, first appearance first, and its fields'
    types where Arrow read it as ``json`` would (None: it did not)."""

    names: list[str]
    schema: pa.Schema | None


def scan_block(block: str) -> BlockScan:
    """One block's scan (no state: blocks may be scanned at once, in threads). Arrow is given
    only lines that begin an object (pyarrow 26's JSON reader crashes the process on a text
    whose first value is ``null``) and that nest at most ``MAX_DEPTH`` levels (deeper, it
    overflows the stack)."""
    objects = _object_lines(block)
    if objects is None:
        return BlockScan(_line_keys(block), None)
    data = block.encode("utf-8")
    if deep_lines(data):  # Arrow's parser would overflow the stack: json refuses these lines
        return BlockScan(_line_keys(block), None)
    try:
        table = pajson.read_json(pa.py_buffer(data), read_options=_options(len(data)))
    except (pa.ArrowException, ValueError):
        return BlockScan(_line_keys(block), None)
    alike = table.num_rows == objects and not _not_finite(table)
    return BlockScan(table.column_names, table.schema if alike else None)


def scanned(blocks: Iterable[str], workers: int) -> Iterator[BlockScan]:
    """Each block's scan, in order, up to ``workers`` blocks at once (Arrow parses without
    Python's lock); at most ``workers`` blocks are held."""
    return ordered_map(scan_block, blocks, workers, "fedsec-json-scan")


class Scan:
    """The keys and field kinds of a log's blocks, merged in order."""

    def __init__(self) -> None:
        self.names: dict[str, None] = {}
        self.kinds: dict[str, str] = {}
        self.alike = True

    def add(self, block: str) -> None:
        self.merge(scan_block(block))

    def merge(self, found: BlockScan) -> None:
        self.names.update(dict.fromkeys(found.names))
        if found.schema is None:
            self.alike = False
        elif self.alike:
            self._note_kinds(found.schema)

    def plan(self) -> Plan:
        columns = list(self.names)
        if not self.alike:
            return Plan(columns, None)
        kinds = [TYPES[self.kinds.get(name, "text")] for name in columns]
        return Plan(columns, pa.schema(list(zip(columns, kinds, strict=True))))

    def _note_kinds(self, schema: pa.Schema) -> None:
        for field in schema:
            kind = _kind(field.type)
            if kind is None:
                continue
            known = self.kinds.setdefault(field.name, kind)
            if {known, kind} == {"integer", "number"}:
                self.kinds[field.name] = "number"
            elif kind == "other" or known != kind:
                self.alike = False
                return


@dataclass(frozen=True)
class JsonChunk:
    """A chunk of a log's records: the frame of their values, and where Arrow read them, its
    table (text, ``T``/``F``, sets joined, ``numeric`` columns as floats, other whole numbers
    as Arrow integers)."""

    frame: pd.DataFrame
    arrow: pa.Table | None = None


def arrow_chunk(lines: list[str], plan: Plan, before: int, numeric: Collection[str]) -> JsonChunk:
    """The records of ``lines`` (one per line; ``before``: records ahead of them) read by
    Arrow with the plan's types; in the frame, other whole numbers than ``numeric`` ones are
    Python ints (as ``json`` reads them). Raises ``pa.ArrowException`` where Arrow cannot."""
    if not all(_one_object(line) for line in lines):  # (a log that changed since its scan)
        raise pa.ArrowInvalid("a line does not begin and end as one JSON object")
    data = "\n".join(lines).encode("utf-8")
    deep = deep_lines(data)
    if deep:  # (a log that changed since its scan)
        raise pa.ArrowInvalid(f"record {before + deep[0] + 1} nests deeper than {MAX_DEPTH} levels")
    table = pajson.read_json(
        pa.py_buffer(data),
        read_options=_options(len(data)),
        parse_options=pajson.ParseOptions(
            explicit_schema=plan.schema, unexpected_field_behavior="error"
        ),
    )
    if table.num_rows != len(lines):
        raise pa.ArrowInvalid(f"{table.num_rows} records in {len(lines)} lines")
    columns = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_boolean(field.type):
            column = pc.if_else(column, "T", "F")
        elif pa.types.is_list(field.type):
            column = pc.binary_join(column, ",")
        elif pa.types.is_integer(field.type) and field.name in numeric:
            column = column.cast(pa.float64())
        columns[field.name] = column
    converted = pa.table(columns)
    frame = converted.to_pandas()
    for name, column in columns.items():
        if pa.types.is_integer(column.type):
            frame[name] = pd.Series(_python_ints(column), index=frame.index, dtype=object)
    frame.index = pd.RangeIndex(before, before + len(frame))
    return JsonChunk(frame, converted)


def _python_ints(column: pa.ChunkedArray) -> np.ndarray:
    """Whole numbers as Python ints (NaN: unset), as ``json`` reads them."""
    values = np.empty(len(column), dtype=object)
    values[:] = column.to_pylist()
    values[pc.is_null(column).to_numpy(zero_copy_only=False)] = np.nan
    return values


def _options(size: int) -> pajson.ReadOptions:
    return pajson.ReadOptions(use_threads=False, block_size=max(size, 1 << 16))


def _kind(kind: pa.DataType) -> str | None:
    """A field's kind (None: only nulls so far)."""
    if pa.types.is_null(kind):
        return None
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind):
        return "number"
    if pa.types.is_string(kind):
        return "text"
    if pa.types.is_boolean(kind):
        return "flag"
    if pa.types.is_list(kind) and (
        pa.types.is_string(kind.value_type) or pa.types.is_null(kind.value_type)
    ):
        return "set"
    return "other"


def _not_finite(table: pa.Table) -> bool:
    """Whether a number is NaN or infinite: only ``NaN`` and ``Infinity``, which ``json``
    refuses, read so (Arrow refuses a number too large for a float)."""
    return any(
        pc.any(pc.invert(pc.is_finite(column))).as_py()
        for column in table.columns
        if pa.types.is_floating(column.type)
    )


def _object_lines(block: str) -> int | None:
    """How many lines hold something (None: one does not begin and end as an object; Arrow
    would read a ``null`` line as a record, or crash on it)."""
    lines = [line for line in block.split("\n") if line.strip()]
    return len(lines) if all(_one_object(line) for line in lines) else None


def _one_object(line: str) -> bool:
    """Whether ``line`` begins with ``{`` and ends with ``}``. Arrow reads a block as one stream
    of values, newlines mere white space: lines that each open 60 brackets would nest one value
    100,000 deep (a stack overflow, under the per-line :data:`MAX_DEPTH`). A line that leaves a
    bracket open and ends with ``}`` is followed by one that begins with ``{``, where JSON
    wants a comma: Arrow refuses it there, no deeper than the line."""
    stripped = line.strip()
    return stripped.startswith("{") and stripped.endswith("}")


def _line_keys(block: str) -> list[str]:
    """Each line's keys, where ``json`` reads an object (other lines are refused when their
    records are read)."""
    names: dict[str, None] = {}
    for line in block.split("\n"):
        try:
            record = json.loads(line) if line.strip() and not too_deep(line) else None
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            names.update(dict.fromkeys(record))
    return list(names)

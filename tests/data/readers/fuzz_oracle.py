"""The fuzz oracle: is a table a reader returned for a mutated file right?

Written apart from the readers, from each format's rules: it parses the plain text of the case
with the standard library, says whether the file must be refused (and why), and otherwise
checks the table: one row per data record, labels present exactly when the file has label
columns, and every record also found in the unmutated sample read exactly as it was read there
(so a shifted, padded or re-typed row shows). A table for a file that must be refused, or a
table failing a check, is *silently wrong*.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import UNLABELED

NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
NONFINITE = {"nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity", ""}
#: What pandas reads as missing: an optional value (a flows port) may be spelled so.
PANDAS_NA = {"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"}
PANDAS_NA |= {"1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
MAX_LINE = 1 << 20
MAX_COLUMNS = 1_000


@dataclass(frozen=True)
class Spec:
    """A format's rules, as the oracle applies them (column names, or positions for NSL-KDD)."""

    kind: str = "csv"  # csv | nsl | zeek | sequences | logrobust | sessions
    numeric: tuple[str, ...] | None = None  # None: every column not named in another field
    text: tuple[str, ...] = ()  # any text (addresses, names, timestamps as text)
    ignored: tuple[str, ...] = ()  # never read by the reader
    nan_ok: tuple[str, ...] = ()  # may be blank/NaN/Infinity
    ports: tuple[str, ...] = ()
    optional_ports: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ()  # numbers 0..255 (names too when ``protocol_names``)
    protocol_names: bool = False
    ranges: tuple[tuple[str, float, float], ...] = ()
    required: tuple[str, ...] = ()
    label: str | None = None  # the attack-type column
    blank_label_ok: bool = False
    binary: str | None = None  # the 0/1 column
    benign: tuple[str, ...] = ()  # attack-type values meaning benign
    whole_text: tuple[str, ...] = ()  # word columns that must not mix in numbers
    replace_ok: tuple[str, ...] = ()  # columns where bytes that are not UTF-8 are tolerated
    duplicates_ok: tuple[str, ...] = ()
    drop_empty_rows: bool = False
    label_sets: tuple[tuple[str, ...], ...] = field(default=())


def must_refuse(spec: Spec, plain: bytes | None) -> tuple[str | None, list[list[str]], list[str]]:
    """(why the file must be refused or None, data records, header names)."""
    if plain is None:
        return "a decompression bomb or a truncated archive", [], []
    if any(len(line) > MAX_LINE for line in plain.split(b"\n")):
        return "a line longer than the cap", [], []
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        if not spec.replace_ok:
            return "bytes that are not UTF-8", [], []
        text = plain.decode("utf-8", "replace")
    if "\x00" in text:
        return "a NUL byte", [], []
    text = text.removeprefix("\ufeff")
    if spec.kind == "zeek":
        return zeek_rules(spec, text)
    if spec.kind in ("sequences", "sessions"):
        return None, [], []
    return csv_rules(spec, text)


def csv_rules(spec: Spec, text: str) -> tuple[str | None, list[list[str]], list[str]]:
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    except csv.Error as error:
        return f"not CSV ({error})", [], []
    if not rows:
        return "an empty file", [], []
    if spec.kind == "nsl":
        names = [str(i) for i in range(len(rows[0]))]
        records = rows
        if len(rows[0]) not in (41, 42, 43):
            return "a wrong number of fields", [], names
    else:
        names = [n.replace("\ufeff", "").strip() for n in rows[0]]
        records = rows[1:]
        if len(names) > MAX_COLUMNS:
            return "too many columns", [], names
        if "" in names:
            return "a column without a name", [], names
        twice = {n for n in names if names.count(n) > 1} - set(spec.duplicates_ok)
        if twice:
            return f"duplicate column names {sorted(twice)}", [], names
    if any(len(r) != len(names) for r in records):
        return "a record of the wrong width", [], names
    if spec.kind != "nsl" and any([f.strip() for f in r] == names for r in records):
        return "a repeated header", [], names
    if spec.drop_empty_rows:
        records = [r for r in records if any(f.strip() for f in r)]
    if not records:
        return "no data rows", [], names
    missing = [c for c in spec.required if c not in names]
    if missing:
        return f"missing required columns {missing}", [], names
    return value_rules(spec, names, records), records, names


def value_rules(spec: Spec, names: list[str], records: list[list[str]]) -> str | None:
    columns = {name: [r[i] for r in records] for i, name in enumerate(names)}
    if "\ufffd" in "".join(v for c, vs in columns.items() if c not in spec.replace_ok for v in vs):
        return "bytes that are not UTF-8 outside the label"
    listed = {
        *spec.text,
        *spec.ignored,
        *spec.ports,
        *spec.optional_ports,
        *spec.protocols,
        *(r[0] for r in spec.ranges),
        *spec.whole_text,
        spec.label,
        spec.binary,
    }
    numeric = spec.numeric if spec.numeric is not None else [c for c in names if c not in listed]
    for column in (c for c in numeric if c in columns):
        allowed = column in spec.nan_ok
        for value in columns[column]:
            if not is_number(value, nonfinite_ok=allowed):
                return f"{value[:20]!r} in numeric column {column!r}"
    checks = [
        *((c, 0, 65_535, False) for c in spec.ports),
        *((c, 0, 65_535, True) for c in spec.optional_ports),
        *((c, lo, hi, False) for c, lo, hi in spec.ranges),
    ]
    for column, low, high, optional in checks:
        for value in columns.get(column, []):
            if optional and (not value.strip() or value in PANDAS_NA):
                continue  # accepted on purpose: a missing port (unknown service)
            if not in_range(value, low, high, whole=column not in {r[0] for r in spec.ranges}):
                return f"{value[:20]!r} in {column!r}"
    for column in (c for c in spec.protocols if c in columns):
        for value in columns[column]:
            word = not NUMBER.match(value) and value.strip().lower() not in NONFINITE
            if not (spec.protocol_names and word) and not in_range(value, 0, 255, whole=True):
                return f"{value[:20]!r} in protocol column {column!r}"
    return label_rules(spec, columns) or whole_text_rules(spec, columns)


def label_rules(spec: Spec, columns: dict[str, list[str]]) -> str | None:
    kinds = columns.get(spec.label) if spec.label else None
    flags = columns.get(spec.binary) if spec.binary else None
    if kinds is not None:
        for value in kinds:
            if not value.strip() and not spec.blank_label_ok:
                return f"a blank {spec.label!r}"
            if spec.kind == "nsl" and NUMBER.match(value):
                return "a number where the label goes"
    if flags is not None:
        for value in flags:
            if not in_range(value, 0, 1, whole=True):
                return f"{value[:20]!r} in the binary label"
        if kinds is not None:
            for kind, flag in zip(kinds, flags, strict=True):
                benign = kind.strip().lower() in spec.benign or not kind.strip()
                if benign != (float(flag) == 0):
                    return f"contradictory labels {kind!r} / {flag!r}"
    return None


def whole_text_rules(spec: Spec, columns: dict[str, list[str]]) -> str | None:
    for column in (c for c in spec.whole_text if c in columns):
        words = [v.strip().lower() for v in columns[column]]
        if "" in words:
            return f"a blank value in {column!r}"
        plain = [w for w in words if w not in ("true", "false", "0", "1")]
        numbers = [w for w in plain if NUMBER.match(w) or w in NONFINITE]
        if numbers and len(numbers) != len(plain):
            return f"numbers and words mixed in {column!r}"
        if numbers and any(not is_number(w) for w in numbers):
            return f"a non-finite number in {column!r}"
    return None


def zeek_rules(spec: Spec, text: str) -> tuple[str | None, list[list[str]], list[str]]:
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if text.lstrip()[:1] == "{":
        return zeek_json_rules(spec, [line for line in lines if line.strip()])
    fields = [line for line in lines if line.startswith("#fields\t")]
    if not fields or any(f != fields[0] for f in fields):
        return "no or several different #fields lines", [], []
    declared = [re.match(r"^#separator[ \t]+(\S+)", line) for line in lines]
    if any(m and m.group(1) != "\\x09" for m in declared):
        return None, [], []  # another separator: not judged here
    names = fields[0].split("\t")[1:]
    if len(set(names)) != len(names) or "" in names:
        return "duplicate field names", [], names
    records = [line.split("\t") for line in lines if line and not line.startswith("#")]
    if any("\r" in line for line in lines if not line.startswith("#")):
        return "a carriage return inside a line", [], names
    if not records or any(len(r) != len(names) for r in records):
        return "no rows or a row of the wrong width", [], names
    if any("" in r for r in records):
        return "an empty field", [], names
    unset = [[("" if v == "-" else v) for v in r] for r in records]
    return zeek_values(spec, names, unset), records, names


def zeek_json_rules(spec: Spec, lines: list[str]) -> tuple[str | None, list[list[str]], list[str]]:
    records: list[dict[str, Any]] = []
    for line in lines:
        try:
            record = json.loads(line, parse_constant=_no_constant)
        except ValueError:
            return "a line that is not JSON", [], []
        if not isinstance(record, dict):
            return "a JSON line that is not an object", [], []
        if any(isinstance(v, dict) for v in record.values()):
            return "a nested value", [], []
        if any(
            isinstance(v, list) and any(isinstance(x, list | dict) for x in v)
            for v in record.values()
        ):
            return "a nested list", [], []
        records.append(record)
    names = list(dict.fromkeys(k for r in records for k in r))
    rows = [["" if r.get(n) is None else _json_text(r.get(n)) for n in names] for r in records]
    return zeek_values(spec, names, rows), [[str(r) for r in rows]], names


def _no_constant(name: str) -> None:
    raise ValueError(name)


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def zeek_values(spec: Spec, names: list[str], rows: list[list[str]]) -> str | None:
    """Zeek rules over rows where '' means unset."""
    missing = [c for c in spec.required if c not in names]
    if missing or not any(c in names for c in ("orig_ip_bytes", "orig_bytes")):
        return f"missing required fields {missing}"
    if not any(c in names for c in ("resp_ip_bytes", "resp_bytes")):
        return "missing required byte fields"
    columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    for column in (c for c in spec.numeric or () if c in columns):
        if any(v and not is_number(v) for v in columns[column]):
            return f"a non-number in {column!r}"
    for value in columns["id.resp_p"]:
        if not in_range(value, 0, 65_535, whole=True):
            return f"port {value[:20]!r}"
    for value in columns.get("id.orig_p", []):
        if value and not in_range(value, 0, 65_535, whole=True):
            return f"port {value[:20]!r}"
    return None


def is_number(value: str, nonfinite_ok: bool = False) -> bool:
    """A finite number; with ``nonfinite_ok`` (CIC-IDS2017's rate columns) also NaN/Infinity
    and numbers too large for a float, which read as Infinity: accepted on purpose."""
    if nonfinite_ok and (value.strip().lower() in NONFINITE or NUMBER.match(value)):
        return True
    return bool(NUMBER.match(value)) and math.isfinite(float(value))


def in_range(value: str, low: float, high: float, whole: bool) -> bool:
    if not is_number(value):
        return False
    number = float(value)
    return low <= number <= high and (not whole or number == int(number))


def check_table(
    spec: Spec,
    table: Any,
    records: list[list[str]],
    names: list[str],
    baseline: tuple[list[str], dict[tuple[str, ...], tuple]] | None,
) -> str | None:
    """Checks of a table for a file the oracle accepts."""
    if spec.kind in ("zeek", "sequences", "sessions", "logrobust"):
        return None
    if len(table) != len(records):
        return f"{len(table)} rows for {len(records)} data records"
    labelled = bool(spec.label and spec.label in names) or bool(spec.binary in names)
    if spec.kind == "nsl":
        labelled = len(names) >= 42
    unlabeled = table.family == UNLABELED
    if labelled and unlabeled.any():
        return "rows marked unlabeled though the file has labels"
    if not labelled and not unlabeled.all():
        return "labels invented for a file without label columns"
    if baseline is None or baseline[0] != names:
        return None
    for position, record in enumerate(records):
        expected = baseline[1].get(tuple(record))
        if expected is not None and row_signature(table, position) != expected:
            return f"data row {position + 1} read differently from the same row unmutated"
    return None


def row_signature(table: Any, row: int) -> tuple:
    """What a row was read as: family, label, native and canonical values (NaN-safe)."""

    def values(frame: pd.DataFrame | None) -> tuple:
        if frame is None:
            return ()
        return tuple("<nan>" if _is_nan(v) else v for v in frame.iloc[row].tolist())

    return (
        str(table.family[row]),
        str(table.label[row]),
        values(table.native),
        values(table.canonical),
        tuple(table.native_categorical),
    )


def _is_nan(value: object) -> bool:
    return isinstance(value, float | np.floating) and math.isnan(value)


_BASELINES: dict[str, tuple[list[str], dict[tuple[str, ...], tuple]]] = {}


def register_baseline(name: str, spec: Spec, plain: bytes, table: Any) -> None:
    """Remember how the unmutated sample was read, record by record."""
    reason, records, names = must_refuse(spec, plain)
    if reason:
        raise AssertionError(f"the unmutated sample {name} breaks the oracle's rules: {reason}")
    if spec.kind in ("zeek", "sequences", "sessions", "logrobust"):
        return
    _BASELINES[name] = (names, {tuple(r): row_signature(table, i) for i, r in enumerate(records)})


def check(name: str, spec: Spec, plain: bytes | None, table: Any) -> str | None:
    """None when the table is right; else why it is silently wrong."""
    reason, records, names = must_refuse(spec, plain)
    if reason:
        return f"accepted a file with {reason}"
    if spec.kind == "sequences":
        return sequence_check(plain, table)
    return check_table(spec, table, records, names, _BASELINES.get(name))


EVENT = re.compile(r"^[A-Za-z0-9_.:\-]+$")
SESSION_ID = re.compile(r"^[^\s,]+$")


def sequence_check(plain: bytes, table: Any) -> str | None:
    """Event-sequence files: one session per non-blank line, ``id,events`` or ``events``."""
    text = plain.decode("utf-8").removeprefix("\ufeff")
    sessions = []
    for raw in io.StringIO(text, newline=None):
        line = raw.strip()
        if not line:
            continue
        key, _, events = line.partition(",") if "," in line else ("", "", line)
        tokens = events.split()
        if ("," in line and not SESSION_ID.match(key.strip())) or not tokens:
            return "accepted a malformed session line"
        if any(not EVENT.match(t) for t in tokens):
            return "accepted a malformed event id"
        sessions.append(tuple(tokens))
    if len(table) != len(sessions):
        return f"{len(table)} sessions for {len(sessions)} lines"
    if [tuple(e) for e in table.events] != sessions:
        return "events differ from the lines"
    return None

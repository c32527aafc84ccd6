"""Which format fedsec reads a file in as it is, from its first line (or Parquet schema): what
``fedsec inspect`` says before profiling a file for a mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from fedsec.core.errors import InputError
from fedsec.data.readers import cicids2017, flows, nf_v2, unsw_nb15
from fedsec.data.readers._input import text_blocks

PARQUET_MAGIC = b"PAR1"
#: A Zeek conn record's keys (JSON lines).
ZEEK_KEYS = frozenset({"id.orig_h", "id.resp_h", "id.resp_p", "proto"})


def native_format(path: Path) -> tuple[str, str] | None:
    """``(format, what the file is)`` when fedsec reads ``path`` without a mapping (None when
    it does not, or the file cannot be read as text or Parquet: profiling it says why)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            parquet = handle.read(4) == PARQUET_MAGIC
        if parquet:
            return _by_columns(pq.ParquetFile(path).schema_arrow.names)
        line = _first_line(path)
    except (InputError, OSError, ValueError):
        return None
    if line.startswith(("#separator", "#fields")):
        return "zeek", "a Zeek log (ASCII, with its header block)"
    if line.startswith("{"):
        return _zeek_json(line)
    return _by_columns([name.strip().strip('"') for name in line.split(",")])


def _first_line(path: Path) -> str:
    for block in text_blocks(path, block_bytes=1 << 16):
        for line in block.splitlines():
            if line.strip():
                return line.strip()
    return ""


def _zeek_json(line: str) -> tuple[str, str] | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # (a hostile line nesting thousands of levels)
        return None
    if isinstance(record, dict) and set(record) >= ZEEK_KEYS:
        return "zeek", "a Zeek conn.log (JSON lines)"
    return None


def _by_columns(names: list[str]) -> tuple[str, str] | None:
    present = set(names)
    if set(nf_v2.REQUIRED) <= present:
        return "nf-v2", "a NetFlow v2 CSV (the NF-*-v2 fields)"
    if {*unsw_nb15.NUMERIC, *unsw_nb15.CATEGORICAL} <= present:
        return "unsw-nb15", "a UNSW-NB15 CSV"
    if set(cicids2017.required_columns(names)) <= present:
        return "cicids2017", "a CIC-IDS2017 (CICFlowMeter) CSV"
    if {*flows.REQUIRED, "protocol"} <= present:
        return "flows", "a canonical flow file (fedsec generate's columns)"
    return None

"""Writers for flow records: canonical flow CSV, NetFlow-v9-style CSV (NF-v2 fields), Zeek conn.log.

Every writer takes *flow records*: a frame with the columns of :data:`RECORD_COLUMNS` (one row
per flow, ``ts`` in epoch seconds, flags as 0/1 presence) plus optional ``label`` (the original
label, e.g. an ATT&CK technique id), ``family``, ``campaign`` and ``org``. Each file is written
atomically, and each format is read back by the reader of the same name in
:mod:`fedsec.data.readers`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from fedsec.core.errors import ConfigError
from fedsec.data.writers import flows, nf_v2, zeek
from fedsec.data.writers._records import RECORD_COLUMNS, check_records

WRITERS: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    "flows": flows.write,
    "nf-v2": nf_v2.write,
    "zeek": zeek.write,
}
#: File name of one day of records in each format (Zeek-style rotation for conn.log).
DAILY_NAMES: dict[str, str] = {
    "flows": "flows-{day}.csv",
    "nf-v2": "netflow-{day}.csv",
    "zeek": "conn.{day}.log",
}


def write_records(fmt: str, records: pd.DataFrame, path: Path) -> Path:
    """Write ``records`` to ``path`` in format ``fmt`` (atomic)."""
    if fmt not in WRITERS:
        raise ConfigError(f"unknown output format {fmt!r}; known: {', '.join(sorted(WRITERS))}")
    check_records(records)
    return WRITERS[fmt](records, Path(path))


__all__ = ["DAILY_NAMES", "RECORD_COLUMNS", "WRITERS", "check_records", "write_records"]

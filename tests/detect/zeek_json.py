"""A Zeek TSV conn.log rewritten as Zeek's JSON-lines output: numbers as numbers, unset fields
left out (what ``LogAscii::use_json`` writes)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from fedsec.data.readers.zeek import load_log


def write_zeek_json(tsv: Path, out: Path) -> Path:
    """``out``: the rows of the Zeek TSV log ``tsv`` as JSON lines."""
    raw = load_log(tsv)
    rows = [
        {k: _number(v) for k, v in row.items() if pd.notna(v)} for row in raw.to_dict("records")
    ]
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return out


def _number(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text

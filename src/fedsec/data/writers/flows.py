"""Canonical flow CSV: the canonical base columns plus context and labels, one flow per row.

Columns: ``timestamp`` (ISO 8601 UTC), ``flow_id``, ``org``, addresses and ports, ``protocol``
(tcp/udp/icmp), ``service`` (the port's class, informative: the reader derives it from
``dst_port``), the base numeric columns of the canonical schema, then ``label``, ``family`` and
``campaign`` when the records carry them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fedsec.data.canonical import BASE_NUMERIC, service_from_port
from fedsec.data.readers._tables import write_parquet
from fedsec.data.writers._records import counters, iso_times, write_frame_csv

OPTIONAL: tuple[str, ...] = ("label", "family", "campaign")


def to_frame(records: pd.DataFrame) -> pd.DataFrame:
    """The rows exactly as the CSV holds them."""
    counts = counters(records)
    out = pd.DataFrame(
        {
            "timestamp": iso_times(records["ts"]),
            "flow_id": records["flow_id"].astype(str).to_numpy(),
        }
    )
    if "org" in records:
        out["org"] = records["org"].to_numpy()
    for column in ("src_ip", "src_port", "dst_ip", "dst_port", "protocol"):
        out[column] = records[column].to_numpy()
    out["service"] = service_from_port(records["dst_port"]).to_numpy()
    for column in BASE_NUMERIC:
        out[column] = counts[column] if column in counts else records[column].to_numpy()
    out["duration_s"] = records["duration_s"].to_numpy(dtype=float).round(6)
    for column in OPTIONAL:
        if column in records:
            out[column] = records[column].to_numpy()
    return out


def write(records: pd.DataFrame, path: Path) -> Path:
    """CSV, or Parquet when the file name ends in ``.parquet``."""
    if Path(path).suffix.lower() == ".parquet":
        return write_parquet(to_frame(records), path)
    return write_frame_csv(to_frame(records), path)

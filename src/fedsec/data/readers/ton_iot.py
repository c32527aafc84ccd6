"""TON_IoT IoT telemetry, one Train_Test CSV per device (fridge, GPS tracker, Modbus, ...).

Traps handled here (see the shared datasets README): ``ts``/``date``/``time`` mark the attack
windows, so they are context only; string fields carry whitespace variants (``"high  "``) and
boolean spellings (``"true  "`` vs ``1``) that also track attack periods, so values are
normalised before anything sees them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import (
    numeric_block,
    read_csv_checked,
    require_columns,
    strip_column_names,
)
from fedsec.data.taxonomy import TON_IOT, map_labels
from fedsec.errors import InputError

LABEL = "type"
NOT_FEATURES: tuple[str, ...] = ("ts", "date", "time", "label", LABEL)
BOOLEAN_WORDS: dict[str, float] = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}


def device_name(path: Path) -> str:
    """``Train_Test_IoT_GPS_Tracker.csv.gz`` -> ``gps_tracker``."""
    stem = path.name.split(".")[0]
    stem = re.sub(r"^(Train_Test_)?IoT_", "", stem)
    stem = re.sub(r"_TRIMMED$", "", stem, flags=re.IGNORECASE)
    return stem.lower()


def read(path: Path) -> FlowTable:
    raw = strip_column_names(read_csv_checked(path))
    require_columns(raw, (LABEL,), path)
    sensors = [c for c in raw.columns if c not in NOT_FEATURES]
    if not sensors:
        raise InputError(path, "no sensor columns besides ts/date/time/label/type")
    native, categorical = _sensor_block(raw, sensors, path)
    labels = raw[LABEL].astype(str).str.strip().str.lower()
    families, unknown = map_labels(labels, TON_IOT)
    device = device_name(path)
    return FlowTable(
        source="ton-iot",
        native=native,
        native_categorical=tuple(categorical),
        family=families,
        label=labels.to_numpy(dtype=object),
        context=_context(raw),
        canonical=None,
        origin=np.full(len(raw), device, dtype=object),
        unknown_labels=unknown,
        files=[str(path)],
    )


def _sensor_block(
    raw: pd.DataFrame, sensors: list[str], path: Path
) -> tuple[pd.DataFrame, list[str]]:
    out = pd.DataFrame(index=raw.index)
    categorical: list[str] = []
    for column in sensors:
        values = raw[column]
        if pd.api.types.is_numeric_dtype(values):
            out[column] = numeric_block(raw, [column], path)[0][column]
            continue
        words = values.astype(str).str.strip().str.lower()
        if words.isin(list(BOOLEAN_WORDS)).all():
            out[column] = words.map(BOOLEAN_WORDS).astype(float)
        elif pd.to_numeric(words, errors="coerce").notna().all():
            out[column] = numeric_block(pd.DataFrame({column: words}), [column], path)[0][column]
        else:
            out[column] = words.to_numpy(dtype=object)
            categorical.append(column)
    return out, categorical


def _context(raw: pd.DataFrame) -> pd.DataFrame:
    if "ts" in raw:
        stamp = pd.to_datetime(pd.to_numeric(raw["ts"], errors="coerce"), unit="s", utc=True)
        return pd.DataFrame({"timestamp": stamp.astype(str).to_numpy(dtype=object)})
    if {"date", "time"} <= set(raw.columns):
        text = raw["date"].astype(str).str.strip() + " " + raw["time"].astype(str).str.strip()
        return pd.DataFrame({"timestamp": text.to_numpy(dtype=object)})
    return pd.DataFrame(index=raw.index)

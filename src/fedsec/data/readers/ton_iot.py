"""TON_IoT IoT telemetry, one Train_Test CSV per device (fridge, GPS tracker, Modbus, ...).

Traps handled here (see the shared datasets README): ``ts``/``date``/``time`` mark the attack
windows, so they are context only; string fields carry whitespace variants (``"high  "``) and
boolean spellings (``"true  "`` vs ``1``) that also track attack periods, so values are
normalised before anything sees them. A column is numeric, boolean or text as a whole: one that
mixes numbers and words (a corrupt value in a numeric column) is refused, naming the row, never
turned into a categorical column. ``type`` and ``label`` are optional (rows to score carry none);
when both are there they must agree (``normal`` iff 0).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import UNIX_SECONDS, check_range, numeric_block, read_csv_checked
from fedsec.data.readers._labels import LabelColumns, label_text, read_labels
from fedsec.data.taxonomy import TON_IOT

LABEL = "type"
BINARY = "label"


def _lower_label_text(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """TON_IoT's attack types, lower-cased before mapping."""
    return label_text(raw, column, path).str.lower()


LABELS = LabelColumns(
    LABEL, BINARY, TON_IOT, attack_text="attack", benign_text="normal", read_text=_lower_label_text
)
NOT_FEATURES: tuple[str, ...] = ("ts", "date", "time", "label", LABEL)
BOOLEAN_WORDS: dict[str, float] = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}


def device_name(path: Path) -> str:
    """``Train_Test_IoT_GPS_Tracker.csv.gz`` -> ``gps_tracker``."""
    stem = path.name.split(".")[0]
    stem = re.sub(r"^(Train_Test_)?IoT_", "", stem)
    stem = re.sub(r"_TRIMMED$", "", stem, flags=re.IGNORECASE)
    return stem.lower()


def read(path: Path) -> FlowTable:
    raw = read_csv_checked(path)
    sensors = [c for c in raw.columns if c not in NOT_FEATURES]
    if not sensors:
        raise InputError(path, "no sensor columns besides ts/date/time/label/type")
    native, categorical = _sensor_block(raw, sensors, path)
    families, labels, unknown, notes = read_labels(raw, path, LABELS)
    device = device_name(path)
    return FlowTable(
        source="ton-iot",
        native=native,
        native_categorical=tuple(categorical),
        family=families,
        label=labels,
        context=_context(raw, path),
        canonical=None,
        origin=np.full(len(raw), device, dtype=object),
        unknown_labels=unknown,
        notes=[f"{path}: {note}" for note in notes],
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
        _check_whole(values, words, column, path)
        if words.isin(list(BOOLEAN_WORDS)).all():
            out[column] = words.map(BOOLEAN_WORDS).astype(float)
        elif pd.to_numeric(words, errors="coerce").notna().all():
            out[column] = numeric_block(pd.DataFrame({column: words}), [column], path)[0][column]
        else:
            out[column] = words.to_numpy(dtype=object)
            categorical.append(column)
    return out, categorical


def _check_whole(values: pd.Series, words: pd.Series, column: str, path: Path) -> None:
    """A text column holds values, all of them words or all numbers (booleans aside)."""
    blank = values.isna().to_numpy() | (words == "").to_numpy()
    number = pd.to_numeric(words, errors="coerce").notna() & ~words.isin(list(BOOLEAN_WORDS))
    text = ~number & ~words.isin(list(BOOLEAN_WORDS))
    bad = blank | (text.to_numpy() if number.any() else np.zeros(len(words), bool))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        problem = "has no value" if blank[row] else f"holds {values.iloc[row]!r} among numbers"
        raise InputError(
            path, f"column {column!r} {problem} (data row {row + 1}; {int(bad.sum())} such rows)"
        )


def _context(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    check_range(raw, ["ts"], path, **UNIX_SECONDS)
    if "ts" in raw:
        stamp = pd.to_datetime(pd.to_numeric(raw["ts"], errors="coerce"), unit="s", utc=True)
        # each distinct second formatted once (many rows share one): astype(str) is slow
        codes, seconds = pd.factorize(stamp, use_na_sentinel=False)
        text = np.asarray(seconds.astype(str), dtype=object)[codes]
        return pd.DataFrame({"timestamp": text})
    if {"date", "time"} <= set(raw.columns):
        text = raw["date"].astype(str).str.strip() + " " + raw["time"].astype(str).str.strip()
        return pd.DataFrame({"timestamp": text.to_numpy(dtype=object)})
    return pd.DataFrame(index=raw.index)

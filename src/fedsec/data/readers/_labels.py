"""Labels of formats that may come without any: canonical families, ATT&CK ids, or none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.readers._io import data_row
from fedsec.data.taxonomy import BENIGN, FAMILIES, OTHER, SIMULATOR, UNLABELED, map_labels

#: Labels a canonical flow CSV or a labelled conn.log may carry: canonical family names,
#: the simulator's ATT&CK technique ids, and the usual spellings of benign.
GENERIC: dict[str, str] = {
    **{family: family for family in FAMILIES},
    **SIMULATOR,
    "normal": BENIGN,
    "benign": BENIGN,
}

UNLABELED_NOTE = (
    "no label column: rows are marked 'unlabeled' (fine for fedsec detect; training needs labels)"
)
BINARY_ONLY_NOTE = (
    "only the binary label column: attacks are family 'other' (the attack type is not given)"
)


def unlabeled(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(families, labels) of ``n`` rows that carry no label."""
    return np.full(n, UNLABELED, dtype=object), np.full(n, "-", dtype=object)


def families_of(
    labels: pd.Series, table: dict[str, str]
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(families, stripped labels, unknown label counts) via a mapping table."""
    text = labels.astype(str).str.strip()
    families, unknown = map_labels(text, table)
    return families, text.to_numpy(dtype=object), unknown


def label_text(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """A label column, stripped; a blank label in a labelled file is an error naming the row
    (a file without labels leaves the column out)."""
    values = raw[column]
    text = values.astype(str).str.strip()
    blank = values.isna().to_numpy() | (text == "").to_numpy()
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise InputError(
            path,
            f"column {column!r} has no label in data row {data_row(raw, row)} "
            f"({int(blank.sum())} such rows); leave the column out to score unlabeled data",
        )
    return text


#: How booleans are written in text: pandas and Python ("True"), JSON and SQL ("true").
BOOLEAN_SPELLINGS = {"true": 1, "false": 0}


def attack_flags(raw: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """A binary label column (0 benign, 1 attack; ``true``/``false`` in any case, as a
    spreadsheet or pandas writes booleans) as booleans; anything else is an error."""
    text = raw[column].astype(str).str.strip()
    spelled = text.str.lower().map(BOOLEAN_SPELLINGS)
    values = pd.to_numeric(text, errors="coerce").where(spelled.isna(), spelled)
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            path,
            f"column {column!r} holds {text.iloc[row]!r}, expected 0 or 1 (or true/false) "
            f"(data row {data_row(raw, row)})",
        )
    return values.to_numpy() == 1


def check_agreement(
    raw: pd.DataFrame,
    families: np.ndarray,
    attacks: np.ndarray,
    columns: tuple[str, str],
    path: Path,
) -> None:
    """The attack-type column and the binary label (``columns``) must agree, benign iff 0: a
    contradiction is an error naming the row, never silently read as one or the other."""
    bad = (families == BENIGN) == attacks
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        kind, binary = columns
        value = raw[kind].iloc[row]
        text = "blank" if pd.isna(value) or not str(value).strip() else repr(str(value).strip())
        raise InputError(
            path,
            f"contradictory labels in data row {data_row(raw, row)}: {kind} {text} but "
            f"{binary} {int(attacks[row])} ({int(bad.sum())} such rows)",
        )


@dataclass(frozen=True)
class LabelColumns:
    """How a format labels its rows: an attack-type column mapped through ``table``, an optional
    binary column, and the label text given to rows labelled by the binary column alone."""

    kind: str
    binary: str
    table: dict[str, str]
    attack_text: str
    benign_text: str
    read_text: Callable[[pd.DataFrame, str, Path], pd.Series] = label_text


def read_labels(
    raw: pd.DataFrame, path: Path, columns: LabelColumns
) -> tuple[np.ndarray, np.ndarray, dict[str, int], list[str]]:
    """(families, labels, unknown label counts, notes): from the attack-type column (checked
    against the binary one when both are there), else the binary column, else unlabeled."""
    attacks = attack_flags(raw, columns.binary, path) if columns.binary in raw else None
    if columns.kind in raw:
        labels = columns.read_text(raw, columns.kind, path)
        families, unknown = map_labels(labels, columns.table)
        if attacks is not None:
            check_agreement(raw, families, attacks, (columns.kind, columns.binary), path)
        return families, labels.to_numpy(dtype=object), unknown, []
    if attacks is not None:
        families = np.where(attacks, OTHER, BENIGN).astype(object)
        labels = np.where(attacks, columns.attack_text, columns.benign_text).astype(object)
        return families, labels, {}, [BINARY_ONLY_NOTE]
    families, labels = unlabeled(len(raw))
    return families, labels, {}, [UNLABELED_NOTE]

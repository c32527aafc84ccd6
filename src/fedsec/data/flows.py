"""The canonical in-memory form every reader returns: labelled flows with two feature views."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from fedsec.data.canonical import CANONICAL_CATEGORICAL, CANONICAL_NUMERIC, check_derived

View = Literal["native", "canonical"]
VIEWS: tuple[str, ...] = ("native", "canonical")


@dataclass(frozen=True)
class FeatureFrame:
    """Feature columns split into numeric and categorical, ready for preprocessing."""

    frame: pd.DataFrame
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


@dataclass
class FlowTable:
    """Labelled flow (or telemetry) records from one or several sources.

    ``native`` holds the dataset's own feature columns; ``canonical`` the canonical flow schema
    (None when the source has no flow fields, e.g. IoT sensor telemetry). ``context`` holds
    timestamps, addresses and ports: kept for alerts, never used as features.
    ``source_file``/``source_row`` say where each row was read: the file and its data row there
    (1-based, header not counted), so an alert can point at the line. A canonical view with
    an infinite derived column is refused here, naming the row's file and data row, so no
    reader needs a check of its own.
    """

    source: str
    native: pd.DataFrame
    native_categorical: tuple[str, ...]
    family: np.ndarray
    label: np.ndarray
    context: pd.DataFrame
    canonical: pd.DataFrame | None = None
    split: np.ndarray | None = None
    origin: np.ndarray | None = None
    unknown_labels: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    source_file: np.ndarray | None = None
    source_row: np.ndarray | None = None
    #: The file's name of a context column named here by its role (a mapping's ``[roles]``),
    #: so that an error names the column the user knows: role -> column.
    context_columns: dict[str, str] = field(default_factory=dict)
    #: The file's column a canonical feature is read from as it is (a mapping's
    #: ``[canonical]``), so that an alert's reasons name the column the user knows: field ->
    #: column.
    feature_columns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.native)
        if self.origin is None:
            self.origin = filled(n, self.source)
        if self.source_file is None:
            self.source_file = filled(n, self.files[0] if len(self.files) == 1 else "")
        if self.source_row is None:
            self.source_row = np.arange(1, n + 1, dtype=np.int64)
        for name in ("family", "label", "origin", "source_file", "source_row"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{self.source}: {name} has {len(getattr(self, name))} rows, features have {n}"
                )
        if self.canonical is not None:
            check_derived(self.canonical, self.source_file, self.source_row)

    def __len__(self) -> int:
        return len(self.native)

    def features(self, view: View) -> FeatureFrame:
        """The requested feature view; a clear error when the source cannot provide it."""
        if view == "canonical":
            if self.canonical is None:
                raise ValueError(
                    f"{self.source} has no flow fields, so no canonical flow view; "
                    'use view = "native"'
                )
            return FeatureFrame(self.canonical, CANONICAL_NUMERIC, CANONICAL_CATEGORICAL)
        if view != "native":
            raise ValueError(f"unknown feature view {view!r}; expected one of {VIEWS}")
        categorical = tuple(c for c in self.native.columns if c in self.native_categorical)
        numeric = tuple(c for c in self.native.columns if c not in self.native_categorical)
        return FeatureFrame(self.native, numeric, categorical)

    def take(self, index: np.ndarray) -> FlowTable:
        """Rows at integer positions ``index`` (a new table, indexes reset)."""
        index = np.asarray(index, dtype=np.int64)

        def rows(frame: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if frame is None else frame.iloc[index].reset_index(drop=True)

        return FlowTable(
            source=self.source,
            native=rows(self.native),
            native_categorical=self.native_categorical,
            family=self.family[index],
            label=self.label[index],
            context=rows(self.context),
            canonical=rows(self.canonical),
            split=None if self.split is None else self.split[index],
            origin=self.origin[index],
            unknown_labels=dict(self.unknown_labels),
            notes=list(self.notes),
            files=list(self.files),
            source_file=self.source_file[index],
            source_row=self.source_row[index],
            context_columns=dict(self.context_columns),
            feature_columns=dict(self.feature_columns),
        )


def filled(n: int, value: object) -> np.ndarray:
    """``n`` times ``value`` as an object array: ``np.full(n, value, object)``, which takes
    some 40x longer."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def concat_tables(tables: list[FlowTable], source: str | None = None) -> FlowTable:
    """Stack tables; native columns are the union (absent numeric = NaN, categorical = '-')."""
    if not tables:
        raise ValueError("nothing to concatenate")
    categorical = tuple(dict.fromkeys(c for t in tables for c in t.native_categorical))
    native = pd.concat([t.native for t in tables], ignore_index=True, sort=False)
    for column in categorical:
        native[column] = native[column].astype(object).where(native[column].notna(), "-")
    canonical = (
        pd.concat([t.canonical for t in tables], ignore_index=True)
        if all(t.canonical is not None for t in tables)
        else None
    )
    splits = [t.split for t in tables]
    unknown: dict[str, int] = {}
    for table in tables:
        for name, count in table.unknown_labels.items():
            unknown[name] = unknown.get(name, 0) + count
    return FlowTable(
        source=source or "+".join(dict.fromkeys(t.source for t in tables)),
        native=native,
        native_categorical=categorical,
        family=np.concatenate([t.family for t in tables]),
        label=np.concatenate([t.label for t in tables]),
        context=pd.concat([t.context for t in tables], ignore_index=True, sort=False),
        canonical=canonical,
        split=np.concatenate(splits) if all(s is not None for s in splits) else None,
        origin=np.concatenate([t.origin for t in tables]),
        unknown_labels=unknown,
        notes=[note for t in tables for note in t.notes],
        files=[f for t in tables for f in t.files],
        source_file=np.concatenate([t.source_file for t in tables]),
        source_row=np.concatenate([t.source_row for t in tables]),
        context_columns={k: v for t in tables for k, v in t.context_columns.items()},
        feature_columns={k: v for t in tables for k, v in t.feature_columns.items()},
    )

"""Build a federation from a scenario: read sources, split, partition into organizations.

The whole dataset is split into train and test pools *before* partitioning (identical feature
vectors kept on one side; a source's own test files, and the held-out rows of a source with too
few distinct vectors to group, lose the rows that repeat a training vector), and both pools are
partitioned with the same rule, so no row and no duplicate of a training row of the same source
reaches any organization's test or validation set.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fedsec.core import seeding
from fedsec.core.errors import ConfigError, InputError
from fedsec.data.byte_counts import byte_counts, mixed
from fedsec.data.flows import FlowTable, concat_tables
from fedsec.data.leaks import check_label_copies
from fedsec.data.readers import read_flows
from fedsec.data.readers.mapped import missing_label
from fedsec.data.taxonomy import BENIGN, UNLABELED, family_order
from fedsec.scenarios import partition
from fedsec.scenarios.config import Scenario, SourceConfig

DATA_ENV = "FEDSEC_DATA"


@dataclass
class OrgData:
    """One organization's private data: training, validation (thresholds) and test rows."""

    name: str
    train: FlowTable
    val: FlowTable
    test: FlowTable

    @property
    def train_families(self) -> set[str]:
        return set(self.train.family) | set(self.val.family)


@dataclass
class Federation:
    scenario: Scenario
    orgs: list[OrgData]
    notes: list[str] = field(default_factory=list)
    owners: dict[str, list[str]] = field(default_factory=dict)

    @property
    def view(self) -> str:
        return self.scenario.data.view

    def families(self) -> list[str]:
        everything = [f for org in self.orgs for t in (org.train, org.test) for f in t.family]
        return family_order(everything)

    def summary(self) -> dict[str, dict[str, dict[str, int]]]:
        """Per org and split: rows per family (what the report's data table shows)."""
        return {
            org.name: {
                split: dict(sorted(Counter(getattr(org, split).family).items()))
                for split in ("train", "val", "test")
            }
            for org in self.orgs
        }


def _mixed_byte_counts(scenario: Scenario) -> list[str]:
    """A note when the canonical view joins sources whose byte counts differ (docs/data.md)."""
    if scenario.data.view != "canonical":
        return []
    named = [(", ".join(s.paths), byte_counts(s.format, s.mapping)) for s in scenario.data.sources]
    note = mixed(named)
    return [] if note is None else [note]


def chosen_data_dir(data_dir: str | Path | None) -> str | Path | None:
    """``--data-dir``, else ``$FEDSEC_DATA``, as given (None when neither is)."""
    return data_dir or os.environ.get(DATA_ENV) or None


def resolve_data_dir(data_dir: str | Path | None, paths: Iterable[str] = ()) -> Path:
    """:func:`chosen_data_dir`; a clear error when neither points anywhere and some of the
    scenario's ``paths`` are relative to it (absolute ones need none)."""
    chosen = chosen_data_dir(data_dir)
    paths = list(paths)
    if not chosen and paths and all(Path(p).is_absolute() for p in paths):
        return Path("/")  # every path is absolute: the root they are joined to is unused
    if not chosen:
        raise ConfigError(f"no data directory: pass --data-dir or set {DATA_ENV}")
    path = Path(chosen).expanduser()
    if not path.is_dir():
        state = "is a file, not a folder" if path.exists() else "does not exist"
        raise ConfigError(f"data directory {path} {state}")
    return path


def resolve_paths(patterns: list[str], data_dir: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(data_dir / pattern)
        matches = sorted(glob.glob(full))
        if not matches:
            raise ConfigError(
                f"dataset file(s) {pattern!r} not found under {data_dir} "
                f"(set --data-dir or {DATA_ENV} to your copy of the datasets)"
            )
        found.extend(Path(m) for m in matches)
    return found


def read_source(source: SourceConfig, data_dir: Path) -> FlowTable:
    """Read a source; with ``test_paths`` the official train/test assignment is kept."""
    train = read_flows(source.format, resolve_paths(source.paths, data_dir), source.mapping)
    if source.origin is not None:
        train = _only_origin(train, source.origin)
    if not source.test_paths:
        return train
    test = read_flows(source.format, resolve_paths(source.test_paths, data_dir), source.mapping)
    if source.origin is not None:
        test = _only_origin(test, source.origin)
    train.split = np.full(len(train), "train", dtype=object)
    test.split = np.full(len(test), "test", dtype=object)
    return concat_tables([train, test], source=train.source)


def _only_origin(table: FlowTable, origin: str) -> FlowTable:
    keep = np.flatnonzero(table.origin == origin)
    if len(keep) == 0:
        raise ConfigError(
            f"{table.source}: no rows from origin {origin!r} (origins: {sorted(set(table.origin))})"
        )
    return table.take(keep)


def split_table(
    table: FlowTable, scenario: Scenario, size: float, purpose: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(train rows, held-out rows, notes) with duplicate feature vectors kept on one side.

    A source with too few distinct vectors for that is split row by row, and its held-out rows
    that repeat a training vector are left out (:func:`_drop_repeats`)."""
    rng = seeding.rng(scenario.seed, purpose, table.source)
    if not scenario.split.group_duplicates:
        held = partition.stratified_split(table.family, size, rng)
        return np.flatnonzero(~held), np.flatnonzero(held), []
    groups = partition.row_groups(table.features(scenario.data.view).frame)
    distinct = len(np.unique(groups))
    if distinct >= scenario.split.min_groups:
        held = partition.grouped_split(groups, table.family, size, rng)
        return np.flatnonzero(~held), np.flatnonzero(held), []
    held = partition.stratified_split(table.family, size, rng)
    train_rows = np.flatnonzero(~held)
    pool = "test" if purpose == "test" else "validation"
    kept, left_out = _drop_repeats(table, groups, train_rows, np.flatnonzero(held), "rows", pool)
    note = (
        f"{table.source} ({purpose}): only {distinct} distinct feature vectors in {len(table)} "
        "rows; split row by row"
    )
    return train_rows, kept, ["; ".join([note, *left_out])]


def _drop_repeats(
    table: FlowTable,
    groups: np.ndarray,
    train_rows: np.ndarray,
    held_rows: np.ndarray,
    held: str,
    pool: str,
) -> tuple[np.ndarray, list[str]]:
    """``held_rows`` less those whose vector (``groups``) a training row has, and a note that
    counts them by family (``held`` names those rows, ``pool`` what they are left out of); a
    held-out row that repeats a training vector measures memorization, not detection."""
    repeated = np.isin(groups[held_rows], groups[train_rows])
    if not repeated.any():
        return held_rows, []
    by_family = dict(sorted(Counter(table.family[held_rows[repeated]]).items()))
    note = (
        f"{int(repeated.sum())} of {len(held_rows)} {held} repeat a training feature vector and "
        f"are left out of the {pool} pool (split.group_duplicates): {by_family}"
    )
    if repeated.all():
        note += f"; no {pool} rows remain (its training rows still train)"
    return held_rows[~repeated], [note]


def _train_test(table: FlowTable, scenario: Scenario) -> tuple[FlowTable, FlowTable, list[str]]:
    if table.split is not None:
        train_rows, test_rows, notes = _official_split(table, scenario)
        return table.take(train_rows), table.take(test_rows), notes
    train_rows, test_rows, notes = split_table(table, scenario, scenario.split.test_size, "test")
    return table.take(train_rows), table.take(test_rows), notes


def _official_split(
    table: FlowTable, scenario: Scenario
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The source's own train/test files, less the test rows that repeat a training feature
    vector (with ``split.group_duplicates``): as with fedsec's own splits, no vector is on both
    sides, so a test row never measures memorization. Left out rows are counted in a note."""
    train_rows = np.flatnonzero(table.split == "train")
    test_rows = np.flatnonzero(table.split == "test")
    if not scenario.split.group_duplicates or len(test_rows) == 0:
        return train_rows, test_rows, []
    groups = partition.row_groups(table.features(scenario.data.view).frame)
    held = f"rows of {table.source}'s official test files"
    kept, notes = _drop_repeats(table, groups, train_rows, test_rows, held, "test")
    return train_rows, kept, notes


def _with_validation(
    name: str, train: FlowTable, test: FlowTable, scenario: Scenario, notes: list[str]
) -> OrgData:
    if len(train) == 0:
        raise ConfigError(f"organization {name!r} received no training rows")
    fit_rows, val_rows, more = split_table(train, scenario, scenario.split.val_size, f"val/{name}")
    notes.extend(more)
    return OrgData(name, train.take(fit_rows), train.take(val_rows), test)


def build_federation(scenario: Scenario, data_dir: str | Path | None) -> Federation:
    """Read the scenario's sources and hand each organization its private splits."""
    root = resolve_data_dir(data_dir, scenario.data.paths())
    for source in scenario.data.sources:
        _check_label_column(source, root)
    tables = [_capped(read_source(s, root), scenario) for s in scenario.data.sources]
    for source, table in zip(scenario.data.sources, tables, strict=True):
        table.features(scenario.data.view)  # fail early when a source lacks the view
        if (table.family == UNLABELED).any():
            raise ConfigError(
                f"{', '.join(source.paths)}: {int((table.family == UNLABELED).sum())} rows carry "
                "no label; training and evaluation need labelled data (score unlabelled files "
                "with fedsec detect)"
            )
    _check_benign(scenario, tables)
    notes = [note for t in tables for note in t.notes]
    notes += [
        f"{', '.join(source.paths)}: {note}"
        for source, table in zip(scenario.data.sources, tables, strict=True)
        if source.format == "mapped" and source.mapping is not None
        for note in check_label_copies(
            table.native, table.family, source.mapping.label_copies, ", ".join(source.paths)
        )
    ]
    notes += [
        f"{t.source}: unknown labels mapped to 'other': {t.unknown_labels}"
        for t in tables
        if t.unknown_labels
    ]
    notes += _mixed_byte_counts(scenario)
    if scenario.partition.rule == "per-source":
        return _per_source(scenario, tables, notes)
    table = tables[0] if len(tables) == 1 else concat_tables(tables)
    train, test, more = _train_test(table, scenario)
    notes += more
    names = scenario.org_names()
    train_org, test_org, owners = _assign(scenario, names, train, test)
    for pool, table_of_pool, assigned in (("train", train, train_org), ("test", test, test_org)):
        dropped = Counter(table_of_pool.family[assigned < 0])
        if dropped:
            notes.append(
                f"{pool} rows of families no organization holds, left out: {dict(dropped)}"
            )
    orgs = [
        _with_validation(
            name,
            train.take(np.flatnonzero(train_org == i)),
            test.take(np.flatnonzero(test_org == i)),
            scenario,
            notes,
        )
        for i, name in enumerate(names)
    ]
    return Federation(scenario, orgs, notes, owners)


def _check_label_column(source: SourceConfig, root: Path) -> None:
    """A mapping's label column missing from a file (a typo) is refused, naming the closest
    column, before the real label is read as a feature."""
    if source.format != "mapped" or source.mapping is None:
        return
    for path in resolve_paths([*source.paths, *source.test_paths], root):
        missing = missing_label(path, source.mapping)
        if missing:
            raise InputError(path, f"{missing}: training and evaluation need the label")


def _check_benign(scenario: Scenario, tables: list[FlowTable]) -> None:
    """Attack-only data cannot train a detector: nothing calibrates its false positives."""
    if not any((t.family == BENIGN).any() for t in tables):
        files = ", ".join(p for s in scenario.data.sources for p in s.paths)
        raise ConfigError(
            f"{files}: no benign rows in any source (attack-only data): a detector needs benign "
            "traffic of the same network to calibrate its false-positive rate, and anomaly "
            "models train on it; add benign flows (attack-only files can be scored with "
            "fedsec detect)"
        )


def check_attacks(federation: Federation) -> None:
    """Benign-only training data cannot train a classifier: it learns one class and never
    alerts (a perfect score on its own test rows). One organization without attacks among
    others is fine (a site checks only its own rows, so this runs on the whole federation)."""
    if any(org.train_families - {BENIGN} for org in federation.orgs):
        return
    files = ", ".join(p for s in federation.scenario.data.sources for p in s.paths)
    raise ConfigError(
        f"{files}: no attack rows in the training data of any organization (benign-only): a "
        "classifier trained on it learns one class and never alerts; train an anomaly "
        'detector on benign traffic instead (task = "anomaly", docs/anomaly.md), or add '
        "labelled attack flows"
    )


def _capped(table: FlowTable, scenario: Scenario) -> FlowTable:
    cap = scenario.data.max_rows
    if cap <= 0 or len(table) <= cap:
        return table
    strata = table.family if table.split is None else table.family + "/" + table.split
    rows = partition.cap_rows(strata, cap, seeding.rng(scenario.seed, "cap", table.source))
    capped = table.take(rows)
    capped.notes.append(f"{table.source}: stratified sample of {len(rows)} of {len(table)} rows")
    return capped


def _assign(
    scenario: Scenario, names: list[str], train: FlowTable, test: FlowTable
) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
    cfg = scenario.partition
    rng = seeding.rng(scenario.seed, "partition", cfg.rule)
    if cfg.rule == "iid":
        return (
            partition.partition_iid(len(train), len(names), rng),
            partition.partition_iid(len(test), len(names), rng),
            {},
        )
    if cfg.rule == "dirichlet":
        shares = partition.dirichlet_shares(family_order(train.family), len(names), cfg.alpha, rng)
        return (
            partition.partition_by_shares(train.family, shares, rng),
            partition.partition_by_shares(test.family, shares, rng),
            {},
        )
    attacks = [f for f in family_order(train.family) if f != BENIGN]
    if cfg.families:
        owners = partition.owners_from_explicit(cfg.families, names)
        absent = sorted(set(owners) - set(attacks))
        if absent:
            raise ConfigError(
                f"partition.families names {absent}, which the data does not hold (its attack "
                f"families: {', '.join(attacks)})"
            )
    else:
        sizes = dict(Counter(train.family))
        owners = partition.assign_families(attacks, sizes, names, cfg.overlap, rng)
    return (
        partition.partition_disjoint(train.family, owners, names, rng),
        partition.partition_disjoint(test.family, owners, names, rng),
        owners,
    )


def _per_source(scenario: Scenario, tables: list[FlowTable], notes: list[str]) -> Federation:
    by_org: dict[str, list[FlowTable]] = {}
    for source, table in zip(scenario.data.sources, tables, strict=True):
        by_org.setdefault(str(source.name), []).append(table)
    orgs = []
    for name, parts in by_org.items():
        table = parts[0] if len(parts) == 1 else concat_tables(parts)
        train, test, more = _train_test(table, scenario)
        notes += [f"{name}: {note}" for note in more]
        orgs.append(_with_validation(name, train, test, scenario, notes))
    return Federation(scenario, orgs, notes)

"""Labels for a capture's flows, from rules beside it: ``<capture>.labels.csv``.

A SOC knows which hosts attacked when (a red-team exercise, an incident's timeline), not a
label per flow. Each rule row gives a ``label`` (a canonical family, an ATT&CK technique id, or
``benign``) and any of ``src_ip``, ``dst_ip``, ``src_port``, ``dst_port``, ``protocol`` (name or
number), ``start``, ``end`` (Unix seconds; the flow's first packet within them); a blank field
matches anything. The first matching rule labels a flow, so a last rule with only
``label = benign`` labels the rest. Flows no rule matches stay unlabeled (counted in the notes);
training refuses unlabeled rows. Without the file the capture is read as unlabeled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.core.errors import InputError
from fedsec.data.canonical import protocol_class
from fedsec.data.readers._io import data_row, read_csv_checked, require_columns, to_float
from fedsec.data.readers._labels import GENERIC, UNLABELED_NOTE, families_of, unlabeled
from fedsec.data.taxonomy import UNLABELED

SUFFIX = ".labels.csv"
TEXT_FIELDS: tuple[str, ...] = ("src_ip", "dst_ip")
NUMBER_FIELDS: tuple[str, ...] = ("src_port", "dst_port", "start", "end")
FIELDS: tuple[str, ...] = (*TEXT_FIELDS, *NUMBER_FIELDS, "protocol")


def rules_file(capture: Path) -> Path:
    return capture.with_name(capture.name + SUFFIX)


def read_rules(capture: Path) -> pd.DataFrame | None:
    """The rules beside ``capture``, checked (None: it has none, so its flows are unlabeled)."""
    path = rules_file(capture)
    return _rules(path) if path.is_file() else None


def label_flows(
    capture: Path, rules: pd.DataFrame | None, context: pd.DataFrame, protocols: pd.Series
) -> tuple[np.ndarray, np.ndarray, dict[str, int], list[str]]:
    """(families, labels, unknown label counts, notes) of flows of ``capture`` by its
    ``rules`` (:func:`read_rules`)."""
    if rules is None:
        families, labels = unlabeled(len(context))
        return families, labels, {}, [f"{capture}: {UNLABELED_NOTE}"]
    name = rules_file(capture).name
    labels = np.full(len(context), None, dtype=object)
    flows = context.assign(protocol=protocol_class(protocols).to_numpy())
    for _, rule in rules.iterrows():
        match = pd.isna(labels) & _matches(flows, rule)
        labels[match] = rule["label"]
    missing = pd.isna(labels)
    families, text, unknown = families_of(pd.Series(labels[~missing], dtype=object), GENERIC)
    out_families = np.full(len(context), UNLABELED, dtype=object)
    out_labels = np.full(len(context), "-", dtype=object)
    out_families[~missing], out_labels[~missing] = families, text
    notes = [f"{capture}: labels from {name} ({len(rules)} rules)"]
    if missing.any():
        notes.append(f"{capture}: {int(missing.sum())} flows match no rule of {name}")
    return out_families, out_labels, unknown, notes


def _rules(path: Path) -> pd.DataFrame:
    rules = read_csv_checked(path)
    require_columns(rules, ["label"], path)
    extra = sorted(set(rules.columns) - {"label", *FIELDS})
    if extra:
        raise InputError(path, f"unknown rule fields {extra}; known: label, {', '.join(FIELDS)}")
    blank = rules["label"].isna() | (rules["label"].astype(str).str.strip() == "")
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise InputError(path, f"rule in data row {data_row(rules, row)} has no label")
    for field in NUMBER_FIELDS:
        if field in rules:
            numbers = to_float(rules[field])
            bad = numbers.isna() & rules[field].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    path, f"field {field!r} of data row {data_row(rules, row)} is not a number"
                )
            rules[field] = numbers
    rules["label"] = rules["label"].astype(str).str.strip()
    return rules


def _matches(flows: pd.DataFrame, rule: pd.Series) -> np.ndarray:
    match = np.ones(len(flows), dtype=bool)
    for field in TEXT_FIELDS:
        if field in rule and pd.notna(rule[field]):
            match &= (flows[field].astype(str) == str(rule[field]).strip()).to_numpy()
    for field in ("src_port", "dst_port"):
        if field in rule and pd.notna(rule[field]):
            match &= (flows[field] == rule[field]).to_numpy()
    if "protocol" in rule and pd.notna(rule["protocol"]):
        wanted = protocol_class(pd.Series([rule["protocol"]])).iloc[0]
        match &= (flows["protocol"] == wanted).to_numpy()
    if "start" in rule and pd.notna(rule["start"]):
        match &= (flows["timestamp"] >= rule["start"]).to_numpy()
    if "end" in rule and pd.notna(rule["end"]):
        match &= (flows["timestamp"] <= rule["end"]).to_numpy()
    return match

"""Which column of a flow file is its label, for ``fedsec inspect``.

The label is the text column whose values look like attack names (they map to the canonical
families of docs/taxonomy.md) and that has a benign-looking value; a name like a label only
breaks ties. A two-valued column that is a function of another candidate (a severity tag,
``info``/``high``, derived from the attack name) is never the label: the finer column is. A 0/1
column named like a label is the attack flag.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedsec.data.leaks import words
from fedsec.data.readers._io import to_float
from fedsec.data.taxonomy import BENIGN, known_labels, map_labels

LABEL_WORDS = frozenset({"label", "attack", "class", "category", "type", "target", "tag", "family"})
#: Words of a 0/1 attack flag's name (``Label``, ``is_attack``, ``malicious``); "is" alone is
#: not one: ``is_tcp`` and UNSW-NB15's ``is_sm_ips_ports`` are features.
FLAG_WORDS = frozenset({"label", "attack", "malicious", "anomaly", "anomalous", "intrusion"})
MAX_LABELS = 200
#: What a label-like name adds to a column's score: less than one known value does.
NAME_WEIGHT = 0.5


def label_columns(raw: pd.DataFrame) -> tuple[str | None, str | None]:
    """The likely text label and 0/1 attack flag. Of several flags, the one that agrees with
    the text label on every row (UNSW-NB15's ``label`` beside ``attack_cat``), else the first."""
    scores: dict[str, float] = {}
    flags: list[str] = []
    for name in raw.columns:
        values = raw[name].dropna()
        if set(words(name)) & FLAG_WORDS and _binary(values):
            flags.append(name)
            continue
        score = label_score(name, values)
        if score is not None:
            scores[name] = score
    best = _best(raw, scores)
    if best is not None and len(flags) > 1:
        attacks = attacks_of_label(raw, best)
        agreeing = [f for f in flags if np.array_equal(to_float(raw[f]).to_numpy() == 1, attacks)]
        flags = agreeing + [f for f in flags if f not in agreeing]
    return best, (flags[0] if flags else None)


def _binary(values: pd.Series) -> bool:
    return bool(len(values)) and set(pd.unique(to_float(values))) <= {0.0, 1.0}


def label_score(name: str, values: pd.Series) -> float | None:
    """How much a text column looks like the label: the share of its values that are known
    attack names, one more with a benign value, ``NAME_WEIGHT`` more for a label-like name;
    None when it is no candidate (numbers, too few or too many values, nothing label-like)."""
    distinct = values.astype(str).str.strip().unique()
    if pd.api.types.is_numeric_dtype(values) or not 2 <= len(distinct) <= MAX_LABELS:
        return None
    families, unknown = map_labels(list(distinct), known_labels())
    known = 1.0 - len(unknown) / len(distinct)
    named = bool(set(words(name)) & LABEL_WORDS)
    if known == 0 and not named:
        return None
    return known + float((families == BENIGN).any()) + NAME_WEIGHT * named


def _best(raw: pd.DataFrame, scores: dict[str, float]) -> str | None:
    """The best-scored candidate that is no two-valued tag derived from another (first of
    equals)."""
    kept = {n: s for n, s in scores.items() if not _derived_tag(raw, n, list(scores))}
    return max(kept, key=lambda n: kept[n]) if kept else None


def _derived_tag(raw: pd.DataFrame, name: str, candidates: list[str]) -> bool:
    """Whether ``name`` has two values and is a function of a candidate with more values."""
    tag = _text(raw[name])
    if tag.nunique() != 2:
        return False
    for other in candidates:
        finer = _text(raw[other])
        if other != name and finer.nunique() > 2 and (tag.groupby(finer).nunique() == 1).all():
            return True
    return False


def _text(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().where(values.notna(), "")


def attacks_of_label(raw: pd.DataFrame, label: str) -> np.ndarray:
    """Each row's attack-or-benign truth by the built-in tables."""
    families, _ = map_labels(raw[label].astype(str).str.strip(), known_labels())
    return np.asarray(families != BENIGN)

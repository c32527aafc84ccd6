"""Labels of formats that may come without any: canonical families, ATT&CK ids, or none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import BENIGN, FAMILIES, SIMULATOR, UNLABELED, map_labels

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

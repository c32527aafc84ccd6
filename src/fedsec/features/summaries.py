"""The same summaries as :mod:`fedsec.features.moments`, as fixed-length additive vectors.

A secure sum only adds vectors of one agreed length, so summaries that merge pairwise (means,
centered sums) are computed in two passes whose every entry is a plain sum over rows:

1. **centres**: per column, the count of present values, their sum and the sum of their signed
   log1p. Summed over organizations these give the global means, which the coordinator sends
   back.
2. **summaries**: rows, rows per family of the fixed taxonomy (:data:`FAMILIES`), and per column
   the count of present values, of negative ones and of values above ``TAIL_FLOOR``, and the
   sums of ``(x - c)``, ``(x - c)^2``, ``(x - c)^3`` around the released centre ``c`` (and of
   the first two powers around the log centre). Sums of powers centered near the mean are small
   and stable; the shifted-data formulas then give exactly the mean, ``M2`` and ``M3`` of the
   rows summed, whatever centre was used.

Columns are named by the caller (the union of the organizations' schemas); an organization
without a column contributes its rows as missing values, as in :func:`merge_stats`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from fedsec.data.flows import FeatureFrame
from fedsec.data.taxonomy import FAMILIES
from fedsec.features.moments import TAIL_FLOOR, ColumnStats, FeatureStats, signed_log1p

CENTRE_FIELDS = ("n", "sum", "log_sum")
SUMMARY_FIELDS = ("n", "negative", "large", "c1", "c2", "c3", "log_c1", "log_c2")


def _present(features: FeatureFrame, column: str) -> np.ndarray:
    if column not in features.numeric:
        return np.zeros(0)
    values = features.frame[column].to_numpy(dtype=float)
    return values[np.isfinite(values)]


def family_counts(features: FeatureFrame, families: np.ndarray, what: str) -> Counter[str]:
    """Rows per taxonomy family of one organization's labelled rows (``what`` counts them)."""
    unknown = sorted(set(map(str, families)) - set(FAMILIES))
    if unknown:
        raise ValueError(f"families {unknown} are not in the taxonomy the {what} counts")
    if len(families) != len(features):
        raise ValueError(f"{len(families)} labels for {len(features)} rows")
    return Counter(map(str, families))


def centres_vector(features: FeatureFrame, columns: list[str]) -> np.ndarray:
    """Pass 1 of one organization: ``[n, sum, log_sum]`` per column."""
    out = []
    for column in columns:
        present = _present(features, column)
        out += [len(present), float(present.sum()), float(signed_log1p(present).sum())]
    return np.asarray(out, dtype=np.float64)


def centres(total: np.ndarray, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Global means of the raw and log values from the summed pass-1 vectors (0 if no value)."""
    table = np.asarray(total, dtype=np.float64).reshape(len(columns), len(CENTRE_FIELDS))
    count = np.rint(table[:, 0])
    safe = np.where(count > 0, count, 1.0)
    mean = np.where(count > 0, table[:, 1] / safe, 0.0)
    return mean, np.where(count > 0, table[:, 2] / safe, 0.0)


def summaries_vector(
    features: FeatureFrame,
    families: np.ndarray,
    columns: list[str],
    centre: np.ndarray,
    log_centre: np.ndarray,
) -> np.ndarray:
    """Pass 2 of one organization: rows, rows per family, then per column the counts and the
    power sums around the released centres (see the module docstring)."""
    per_family = family_counts(features, families, "secure sum")
    out: list[float] = [len(features), *(per_family.get(f, 0) for f in FAMILIES)]
    for j, column in enumerate(columns):
        present = _present(features, column)
        d = present - centre[j]
        ld = signed_log1p(present) - log_centre[j]
        out += [
            len(present),
            int((present < 0).sum()),
            int((present > TAIL_FLOOR).sum()),
            float(d.sum()),
            float((d**2).sum()),
            float((d**3).sum()),
            float(ld.sum()),
            float((ld**2).sum()),
        ]
    return np.asarray(out, dtype=np.float64)


def summaries_length(columns: list[str]) -> int:
    return 1 + len(FAMILIES) + len(SUMMARY_FIELDS) * len(columns)


def combine(
    total: np.ndarray,
    columns: list[str],
    categorical: list[str],
    centre: np.ndarray,
    log_centre: np.ndarray,
) -> tuple[FeatureStats, Counter]:
    """Feature summaries and rows per family from the summed pass-2 vectors.

    ``centre``/``log_centre`` must be the values the organizations centered on. A ``ValueError``
    names any entry no set of rows can produce (a sum that was tampered with)."""
    total = np.asarray(total, dtype=np.float64)
    if total.shape != (summaries_length(columns),):
        raise ValueError(f"summed statistics have shape {total.shape}")
    rows, families = family_rows(total)
    table = total[1 + len(FAMILIES) :].reshape(len(columns), len(SUMMARY_FIELDS))
    numeric = {}
    for j, column in enumerate(columns):
        numeric[column] = _column(table[j], rows, centre[j], log_centre[j], column)
    return FeatureStats(rows, numeric, list(categorical)), families


def family_rows(total: np.ndarray) -> tuple[int, Counter[str]]:
    """The rows and the rows per family (those no organization holds left out: they are not
    classes) of a summed pass-2 vector; a ``ValueError`` when they are no counts of rows."""
    total = np.asarray(total, dtype=np.float64)
    if total.ndim != 1 or len(total) < 1 + len(FAMILIES):
        raise ValueError(f"summed statistics have shape {total.shape}")
    rows = _count(total[0], "rows")
    held = total[1 : 1 + len(FAMILIES)]
    families = Counter({f: _count(v, f"rows of {f}") for f, v in zip(FAMILIES, held, strict=True)})
    families = +families
    if sum(families.values()) != rows:
        raise ValueError(f"rows per family add up to {sum(families.values())}, not {rows}")
    return rows, families


def _column(entry: np.ndarray, rows: int, centre: float, log_centre: float, name: str):
    n, negative, large = (_count(v, f"numeric.{name}") for v in entry[:3])
    c1, c2, c3, l1, l2 = (float(v) for v in entry[3:])
    stats = ColumnStats(n=n, missing=rows - n, negative=negative, large=large)
    if n:
        d, ld = c1 / n, l1 / n
        stats.mean, stats.log_mean = centre + d, log_centre + ld
        stats.m2 = max(c2 - c1 * d, 0.0)
        stats.m3 = c3 - 3.0 * d * c2 + 2.0 * n * d**3
        stats.log_m2 = max(l2 - l1 * ld, 0.0)
    stats.validate(rows, f"numeric.{name}")
    return stats


def _count(value: float, what: str) -> int:
    count = round(float(value))
    if count < 0 or abs(value - count) > 1e-6:
        raise ValueError(f"{what}: summed count {value!r} is not a non-negative integer")
    return count

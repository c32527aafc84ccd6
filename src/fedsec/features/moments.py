"""Per-column summaries federated preprocessing is fitted from: stable moments, never rows.

Each organization computes :func:`local_stats` on its own rows: per numeric column the count of
present values, the count of missing ones, the mean and the sums of centered second and third
powers (``M2``, ``M3``), the same mean and ``M2`` after a signed log1p, and two counts the
heavy-tail rule needs (values below 0, values above :data:`TAIL_FLOOR`). Summaries merge
pairwise with the formulas of Chan, Golub & LeVeque (1979) and Pébay (2008), which stay exact
where raw power sums cancel catastrophically (a column of ``1e9 + N(0, 1)``: power sums give a
standard deviation of 16, these give 1). Everything here is additive or merges exactly, so the
same summaries can also be computed under secure aggregation (:mod:`fedsec.features.summaries`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from fedsec.data.flows import FeatureFrame

#: A column is a candidate for log1p only if some value exceeds this (and none is negative).
TAIL_FLOOR = 10.0
#: Variance below ``(RELATIVE_FLOOR * max(|mean|, 1))^2`` is rounding noise: a constant column.
RELATIVE_FLOOR = 1e-12


def signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


@dataclass
class ColumnStats:
    """Summaries of one numeric column: counts, mean and centered power sums (raw and log)."""

    n: int = 0
    missing: int = 0
    mean: float = 0.0
    m2: float = 0.0
    m3: float = 0.0
    log_mean: float = 0.0
    log_m2: float = 0.0
    negative: int = 0
    large: int = 0

    @classmethod
    def of(cls, values: np.ndarray) -> ColumnStats:
        """Two-pass summaries of one organization's values (NaN/inf count as missing)."""
        values = np.asarray(values, dtype=float)
        present = values[np.isfinite(values)]
        n = len(present)
        if n == 0:
            return cls(missing=len(values))
        mean = float(present.mean())
        centered = present - mean
        logs = signed_log1p(present)
        log_mean = float(logs.mean())
        return cls(
            n=n,
            missing=len(values) - n,
            mean=mean,
            m2=float((centered**2).sum()),
            m3=float((centered**3).sum()),
            log_mean=log_mean,
            log_m2=float(((logs - log_mean) ** 2).sum()),
            negative=int((present < 0).sum()),
            large=int((present > TAIL_FLOOR).sum()),
        )

    def merge(self, other: ColumnStats) -> ColumnStats:
        """The summaries of both sets of rows (Chan et al. / Pébay pairwise update)."""
        n = self.n + other.n
        counts = {
            "n": n,
            "missing": self.missing + other.missing,
            "negative": self.negative + other.negative,
            "large": self.large + other.large,
        }
        if self.n == 0 or other.n == 0:
            source = self if other.n == 0 else other
            moments = {k: getattr(source, k) for k in ("mean", "m2", "m3", "log_mean", "log_m2")}
            return ColumnStats(**counts, **moments)
        a, b = float(self.n), float(other.n)
        delta = other.mean - self.mean
        m2 = self.m2 + other.m2 + delta**2 * a * b / n
        m3 = (
            self.m3
            + other.m3
            + delta**3 * a * b * (a - b) / n**2
            + 3.0 * delta * (a * other.m2 - b * self.m2) / n
        )
        log_delta = other.log_mean - self.log_mean
        return ColumnStats(
            **counts,
            mean=self.mean + delta * b / n,
            m2=m2,
            m3=m3,
            log_mean=self.log_mean + log_delta * b / n,
            log_m2=self.log_m2 + other.log_m2 + log_delta**2 * a * b / n,
        )

    def spread(self, log: bool) -> tuple[float, float]:
        """(mean, population standard deviation) of the raw or log1p values; std 0 if constant."""
        mean, m2 = (self.log_mean, self.log_m2) if log else (self.mean, self.m2)
        if self.n == 0:
            return 0.0, 0.0
        var = max(m2, 0.0) / self.n
        return mean, (math.sqrt(var) if not _negligible(var, mean) else 0.0)

    def skewness(self) -> float:
        """Population skewness ``sqrt(n) M3 / M2^1.5`` of the raw values (0 when constant)."""
        if self.n < 2 or _negligible(self.m2 / self.n, self.mean):
            return 0.0
        return math.sqrt(self.n) * self.m3 / self.m2**1.5

    def validate(self, rows: int, where: str) -> None:
        """Refuse summaries no set of ``rows`` rows can have (a site's malformed reply)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value):
                raise ValueError(f"{where}.{f.name} is not finite")
        if not 0 <= self.n <= rows or self.n + self.missing != rows:
            raise ValueError(f"{where}: n {self.n} + missing {self.missing} != {rows} rows")
        if not (0 <= self.negative <= self.n and 0 <= self.large <= self.n):
            raise ValueError(f"{where}: value counts outside 0..{self.n}")
        if self.m2 < 0 or self.log_m2 < 0:
            raise ValueError(f"{where}: negative sum of squares")


def _negligible(var: float, mean: float) -> bool:
    return var <= (RELATIVE_FLOOR * max(abs(mean), 1.0)) ** 2


@dataclass
class FeatureStats:
    """What fits preprocessing: rows, summaries per numeric column, categorical column names."""

    rows: int
    numeric: dict[str, ColumnStats]
    categorical: list[str]

    def to_json(self) -> dict:
        return {
            "rows": self.rows,
            "numeric": {k: asdict(v) for k, v in self.numeric.items()},
            "categorical": list(self.categorical),
        }

    @classmethod
    def from_json(cls, data: dict) -> FeatureStats:
        """The inverse of :meth:`to_json`, checked (what the coordinator receives from a site):
        a ``ValueError`` names the first impossible field."""
        rows = _count(data["rows"], "rows")
        numeric = {}
        for name, values in data["numeric"].items():
            if set(values) != {f.name for f in fields(ColumnStats)}:
                raise ValueError(f"numeric.{name}: expected the fields of ColumnStats")
            stats = ColumnStats(
                **{
                    f.name: _count(values[f.name], f"numeric.{name}.{f.name}")
                    if f.type == "int"
                    else float(values[f.name])
                    for f in fields(ColumnStats)
                }
            )
            stats.validate(rows, f"numeric.{name}")
            numeric[str(name)] = stats
        return cls(rows, numeric, [str(c) for c in data["categorical"]])


def _count(value: object, what: str) -> int:
    """A non-negative integer sent as int (or as an integral float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what}: expected a count, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise ValueError(f"{what}: {value!r} is not a non-negative integer")
    return int(value)


def local_stats(features: FeatureFrame) -> FeatureStats:
    """Summaries of one organization's features (computed where the data lives)."""
    numeric = {
        column: ColumnStats.of(features.frame[column].to_numpy(dtype=float))
        for column in features.numeric
    }
    return FeatureStats(len(features), numeric, list(features.categorical))


def merge_stats(parts: list[FeatureStats]) -> FeatureStats:
    """The summaries of every organization's rows together (columns in first-seen order)."""
    numeric: dict[str, ColumnStats] = {}
    categorical: list[str] = []
    rows = 0
    for part in parts:
        rows += part.rows
        for column, stats in part.numeric.items():
            numeric[column] = numeric.get(column, ColumnStats()).merge(stats)
        categorical.extend(c for c in part.categorical if c not in categorical)
    for stats in numeric.values():
        # an organization without the column contributes its rows as missing values
        stats.missing = rows - stats.n
    return FeatureStats(rows, numeric, categorical)


def union_columns(schemas: list[tuple[list[str], list[str]]]) -> tuple[list[str], list[str]]:
    """Numeric and categorical column names of several organizations, in first-seen order
    (the order :func:`merge_stats` gives, so both paths fit the same feature layout)."""
    numeric: list[str] = []
    categorical: list[str] = []
    for nums, cats in schemas:
        numeric.extend(c for c in nums if c not in numeric)
        categorical.extend(c for c in cats if c not in categorical)
    return numeric, categorical

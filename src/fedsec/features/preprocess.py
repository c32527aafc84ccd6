"""Preprocessing fitted from federated statistics: no raw value ever leaves an organization.

Each organization computes :func:`local_stats` (counts, sums, sums of squares and cubes, min and
max per numeric column, raw and log1p-transformed); the coordinator merges them with
:func:`merge_stats` and fits a :class:`Preprocessor`. Categorical columns are feature-hashed, so
organizations never exchange their category values. The fitted preprocessor is plain data stored
in the model bundle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils import murmurhash3_32

from fedsec.data.flows import FeatureFrame

CLIP = 20.0
MOMENTS = ("n", "missing", "sum", "sum2", "sum3", "log_sum", "log_sum2", "min", "max")


@dataclass
class ColumnStats:
    """Additive summaries of one numeric column (min/max merge by min/max)."""

    n: float = 0.0
    missing: float = 0.0
    sum: float = 0.0
    sum2: float = 0.0
    sum3: float = 0.0
    log_sum: float = 0.0
    log_sum2: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")

    def merge(self, other: ColumnStats) -> ColumnStats:
        merged = {k: getattr(self, k) + getattr(other, k) for k in MOMENTS[:7]}
        return ColumnStats(**merged, min=min(self.min, other.min), max=max(self.max, other.max))


@dataclass
class FeatureStats:
    """What one organization shares to fit preprocessing: summaries, never rows."""

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
        """The inverse of :meth:`to_json` (what the coordinator receives from a site)."""
        return cls(
            rows=int(data["rows"]),
            numeric={
                str(k): ColumnStats(**{m: float(v[m]) for m in MOMENTS})
                for k, v in data["numeric"].items()
            },
            categorical=[str(c) for c in data["categorical"]],
        )


def signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def local_stats(features: FeatureFrame) -> FeatureStats:
    """Summaries of one organization's features (computed where the data lives)."""
    numeric: dict[str, ColumnStats] = {}
    for column in features.numeric:
        values = features.frame[column].to_numpy(dtype=float)
        present = values[np.isfinite(values)]
        logs = signed_log1p(present)
        numeric[column] = ColumnStats(
            n=float(len(present)),
            missing=float(len(values) - len(present)),
            sum=float(present.sum()),
            sum2=float((present**2).sum()),
            sum3=float((present**3).sum()),
            log_sum=float(logs.sum()),
            log_sum2=float((logs**2).sum()),
            min=float(present.min()) if len(present) else float("inf"),
            max=float(present.max()) if len(present) else float("-inf"),
        )
    return FeatureStats(len(features), numeric, list(features.categorical))


def merge_stats(parts: list[FeatureStats]) -> FeatureStats:
    """The coordinator's view: the sum of every organization's summaries."""
    numeric: dict[str, ColumnStats] = {}
    categorical: list[str] = []
    rows = 0
    for part in parts:
        rows += part.rows
        for column, stats in part.numeric.items():
            # an org without the column contributes its rows as missing values
            numeric[column] = numeric.get(column, ColumnStats()).merge(stats)
        categorical.extend(c for c in part.categorical if c not in categorical)
    for stats in numeric.values():
        stats.missing = rows - stats.n
    return FeatureStats(rows, numeric, categorical)


@dataclass
class NumericSpec:
    name: str
    log: bool
    mean: float
    std: float
    indicator: bool


@dataclass
class Preprocessor:
    """Numeric: log1p if heavy-tailed, standardize, clip, NaN -> 0 with a missing flag.

    Categorical: one-hot of the MurmurHash3 bucket of ``column=value``.
    """

    numeric: list[NumericSpec]
    categorical: list[str]
    hash_buckets: int
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.names:
            self.names = self._feature_names()

    @property
    def width(self) -> int:
        return len(self.names)

    def _feature_names(self) -> list[str]:
        names = [spec.name for spec in self.numeric]
        names += [f"{spec.name}__missing" for spec in self.numeric if spec.indicator]
        names += [f"{c}#{b}" for c in self.categorical for b in range(self.hash_buckets)]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows -> float32 matrix; absent columns count as missing values."""
        n = len(frame)
        blocks: list[np.ndarray] = []
        flags: list[np.ndarray] = []
        for spec in self.numeric:
            raw = (
                frame[spec.name].to_numpy(dtype=float) if spec.name in frame else np.full(n, np.nan)
            )
            missing = ~np.isfinite(raw)
            values = signed_log1p(raw) if spec.log else raw
            scaled = np.clip((values - spec.mean) / spec.std, -CLIP, CLIP)
            blocks.append(np.where(missing, 0.0, scaled))
            if spec.indicator:
                flags.append(missing.astype(float))
        out = [np.column_stack(blocks + flags)] if blocks or flags else []
        out += [self._hashed(frame, column) for column in self.categorical]
        return np.hstack(out).astype(np.float32) if out else np.zeros((n, 0), np.float32)

    def _hashed(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        values = frame[column].astype(str) if column in frame else pd.Series(["-"] * len(frame))
        buckets = {v: bucket(column, v, self.hash_buckets) for v in pd.unique(values)}
        index = values.map(buckets).to_numpy(dtype=np.int64)
        onehot = np.zeros((len(frame), self.hash_buckets), dtype=np.float32)
        onehot[np.arange(len(frame)), index] = 1.0
        return onehot

    def to_json(self) -> dict:
        return {
            "numeric": [asdict(s) for s in self.numeric],
            "categorical": self.categorical,
            "hash_buckets": self.hash_buckets,
            "names": self.names,
        }

    @classmethod
    def from_json(cls, data: dict) -> Preprocessor:
        return cls(
            numeric=[NumericSpec(**s) for s in data["numeric"]],
            categorical=list(data["categorical"]),
            hash_buckets=int(data["hash_buckets"]),
            names=list(data["names"]),
        )


def bucket(column: str, value: str, buckets: int) -> int:
    """Stable hash bucket of ``column=value`` (MurmurHash3, the same on every machine)."""
    return murmurhash3_32(f"{column}={value}", seed=0, positive=True) % buckets


def is_heavy_tailed(stats: ColumnStats) -> bool:
    """Non-negative counters with a long right tail (bytes, packets, durations, rates)."""
    if stats.n < 2 or stats.min < 0 or stats.max <= 10:
        return False
    mean = stats.sum / stats.n
    var = max(stats.sum2 / stats.n - mean**2, 0.0)
    if var <= 0:
        return False
    third = stats.sum3 / stats.n - 3 * mean * stats.sum2 / stats.n + 2 * mean**3
    return third / var**1.5 > 2.0


def fit_preprocessor(stats: FeatureStats, hash_buckets: int) -> Preprocessor:
    """Fit scaling from merged summaries; log1p where the tail is heavy."""
    specs = []
    for column, s in stats.numeric.items():
        log = is_heavy_tailed(s)
        total, total2 = (s.log_sum, s.log_sum2) if log else (s.sum, s.sum2)
        mean = total / s.n if s.n else 0.0
        std = float(np.sqrt(max(total2 / s.n - mean**2, 0.0))) if s.n else 0.0
        specs.append(
            NumericSpec(
                column, log, float(mean), std if std > 1e-9 else 1.0, indicator=s.missing > 0
            )
        )
    return Preprocessor(specs, list(stats.categorical), hash_buckets)

"""Preprocessing fitted from federated statistics: no raw value ever leaves an organization.

Each organization computes summaries of its columns (:mod:`fedsec.features.moments`: counts,
means and centered power sums, raw and log1p-transformed); the coordinator merges them (in clear,
or as secure sums: :mod:`fedsec.features.summaries`) and fits a :class:`Preprocessor`.
Categorical columns are feature-hashed, so organizations never exchange their category values.
The fitted preprocessor is plain data stored in the model bundle.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from fedsec.features.moments import ColumnStats, FeatureStats

CLIP = 20.0
#: The scale of a column with no spread in training (constant): its values are only shifted.
FALLBACK_STD = 1.0
#: Skewness above which a non-negative column with values above ``TAIL_FLOOR`` is logged.
HEAVY_SKEW = 2.0


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
    clip: float = CLIP  # standardized values are clipped to +-clip (a range guard lowers it)
    #: A range guard's second look: rows with numeric inputs at +-clip are scored again with
    #: them at +-recheck (None: off; :meth:`pulled_in`).
    recheck: float | None = None

    def __post_init__(self) -> None:
        if not self.names:
            self.names = self._feature_names()
        if self.recheck is not None and not 0 <= self.recheck < self.clip:
            raise ValueError(
                f"recheck {self.recheck} must be below clip {self.clip} and not negative"
            )

    @property
    def width(self) -> int:
        return len(self.names)

    def _feature_names(self) -> list[str]:
        names = [spec.name for spec in self.numeric]
        names += [f"{spec.name}__missing" for spec in self.numeric if spec.indicator]
        names += [f"{c}#{b}" for c in self.categorical for b in range(self.hash_buckets)]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows -> float32 matrix; absent columns count as missing values. Each column is
        computed in float64 and written into one preallocated matrix (no stacking copies)."""
        n = len(frame)
        out = np.zeros((n, self.width), dtype=np.float32)
        flags = iter(range(len(self.numeric), self.width))
        scaled, missing = np.empty(n), np.empty(n, dtype=bool)
        for position, spec in enumerate(self.numeric):
            raw = (
                frame[spec.name].to_numpy(dtype=float) if spec.name in frame else np.full(n, np.nan)
            )
            self._scale(raw, spec, scaled, missing)
            out[:, position] = scaled
            if spec.indicator:
                out[:, next(flags)] = missing
        start = len(self.numeric) + sum(spec.indicator for spec in self.numeric)
        row_starts = np.arange(n) * self.width  # one-hots through flat positions: 4x faster
        for column in self.categorical:
            out.reshape(-1)[row_starts + start + self._buckets(frame, column)] = 1.0
            start += self.hash_buckets
        return out

    def _scale(
        self, raw: np.ndarray, spec: NumericSpec, scaled: np.ndarray, missing: np.ndarray
    ) -> None:
        """``scaled``: ``raw`` logged (if ``spec.log``), standardized and clipped, 0 where not
        finite; ``missing``: where not finite. The operations of
        ``np.where(missing, 0, np.clip((signed_log1p(raw) - mean) / std, -clip, clip))``, in
        place (the same values, bit for bit: tests/features/test_preprocess.py)."""
        np.isfinite(raw, out=missing)
        np.logical_not(missing, out=missing)
        if spec.log:  # signed_log1p: sign(x) * log1p(|x|)
            np.abs(raw, out=scaled)
            np.log1p(scaled, out=scaled)
            np.multiply(np.sign(raw), scaled, out=scaled)
            np.subtract(scaled, spec.mean, out=scaled)
        else:
            np.subtract(raw, spec.mean, out=scaled)
        np.divide(scaled, spec.std, out=scaled)
        np.clip(scaled, -self.clip, self.clip, out=scaled)
        scaled[missing] = 0.0

    def at_edge(self, x: np.ndarray) -> np.ndarray:
        """Per row of ``x`` (this preprocessor's output) and numeric input, whether it is at
        ``±clip``: a value that many standard deviations from the training data's mean, or
        more (log scale for logged columns)."""
        numeric = x[:, : len(self.numeric)]
        return np.abs(numeric) >= np.asarray(self.clip, dtype=x.dtype)  # the clip as x holds it

    def pulled_in(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The rows of ``x`` (this preprocessor's output) with a numeric input at the clip, and
        those rows with each such input at ``±recheck`` instead, on its side; None when
        ``recheck`` is off or no row is at the edge. What an edge-case backdoor's trigger
        becomes once clipped lies at the edge; pulled back into the range it no longer
        matches what the dishonest organization taught (docs/robustness.md, "The range
        guard's second look")."""
        if self.recheck is None:
            return None
        edge = self.at_edge(x)
        rows = np.flatnonzero(edge.any(axis=1))
        if len(rows) == 0:
            return None
        pulled = x[rows].copy()
        at_edge = edge[rows]
        inputs = pulled[:, : len(self.numeric)]
        inputs[at_edge] = np.sign(inputs[at_edge]) * self.recheck
        return rows, pulled

    def _buckets(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        """Each row's hash bucket of ``column`` (one hash per distinct value)."""
        values = frame[column].astype(str) if column in frame else pd.Series(["-"] * len(frame))
        codes, unique = pd.factorize(values, use_na_sentinel=False)
        buckets = np.asarray([bucket(column, v, self.hash_buckets) for v in unique], np.int64)
        return buckets[codes]

    def to_json(self) -> dict:
        """Plain data; ``clip`` only when it is not the default (earlier bundles stay as they
        were)."""
        data = {
            "numeric": [asdict(s) for s in self.numeric],
            "categorical": self.categorical,
            "hash_buckets": self.hash_buckets,
            "names": self.names,
        }
        if self.clip != CLIP:
            data["clip"] = self.clip
        if self.recheck is not None:
            data["recheck"] = self.recheck
        return data

    @classmethod
    def from_json(cls, data: dict) -> Preprocessor:
        return cls(
            numeric=[NumericSpec(**s) for s in data["numeric"]],
            categorical=list(data["categorical"]),
            hash_buckets=int(data["hash_buckets"]),
            names=list(data["names"]),
            clip=float(data.get("clip", CLIP)),
            recheck=None if data.get("recheck") is None else float(data["recheck"]),
        )


def bucket(column: str, value: str, buckets: int) -> int:
    """Stable hash bucket of ``column=value`` (MurmurHash3, the same on every machine)."""
    return murmurhash3_32(f"{column}={value}".encode()) % buckets


MASK32 = 0xFFFFFFFF


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of ``data``, unsigned: the hash scikit-learn's
    ``murmurhash3_32(text, seed, positive=True)`` gives of the text's UTF-8 bytes (written out
    here so that scoring does not import scikit-learn and SciPy; called once per distinct
    category value)."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & MASK32
    whole = len(data) - len(data) % 4
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        h ^= _mix(k, c1, c2)
        h = ((h << 13) | (h >> 19)) & MASK32
        h = (h * 5 + 0xE6546B64) & MASK32
    tail = int.from_bytes(data[whole:], "little")
    if len(data) % 4:
        h ^= _mix(tail, c1, c2)
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK32
    return h ^ (h >> 16)


def _mix(k: int, c1: int, c2: int) -> int:
    k = (k * c1) & MASK32
    k = ((k << 15) | (k >> 17)) & MASK32
    return (k * c2) & MASK32


def is_heavy_tailed(stats: ColumnStats) -> bool:
    """Non-negative counters with a long right tail (bytes, packets, durations, rates)."""
    if stats.n < 2 or stats.negative > 0 or stats.large == 0:
        return False
    return stats.skewness() > HEAVY_SKEW


def non_negative(stats: ColumnStats) -> bool:
    """The log1p rule for statistics released with DP noise: every non-negative column. Their
    thin tails fall under the noise floor, so neither the skewness nor the count above
    ``TAIL_FLOOR`` can be trusted (durations and byte counts would stay unlogged), while log1p
    of a column that did not need it is only a monotone rescaling."""
    return stats.n >= 2 and stats.negative == 0


def fit_preprocessor(
    stats: FeatureStats,
    hash_buckets: int,
    clip: float = CLIP,
    log_rule: Callable[[ColumnStats], bool] = is_heavy_tailed,
    recheck: float | None = None,
) -> Preprocessor:
    """Fit scaling from merged summaries; log1p where ``log_rule`` says (a heavy tail); values
    clipped to +-``clip`` standard deviations (and rows at the clip scored again at
    +-``recheck``)."""
    specs = []
    for column, s in stats.numeric.items():
        log = log_rule(s)
        mean, std = s.spread(log)
        specs.append(
            NumericSpec(
                column, log, float(mean), std if std > 1e-9 else FALLBACK_STD, s.missing > 0
            )
        )
    return Preprocessor(specs, list(stats.categorical), hash_buckets, clip=clip, recheck=recheck)

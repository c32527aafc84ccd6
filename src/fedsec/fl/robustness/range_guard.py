"""The range guard: a site-side defence against edge-case backdoors (``[range_guard]``).

An edge-case backdoor (Wang et al., "Attack of the Tails: Yes, You Really Can Backdoor
Federated Learning", NeurIPS 2020) teaches the common model a trigger in a region of the input
space no honest organization's data reaches (the default trigger here: three inputs at 10
standard deviations). Nothing in honest updates pulls against it there, so no aggregation rule
measured stops it (docs/robustness.md). The guard takes that region away, in three parts that
every honest site applies to itself, so a hostile coordinator cannot switch it off:

1. **The model clips its inputs** to ``±clip`` standard deviations (of the federation's
   statistics), in training and at scoring: the clip is part of the preprocessing stored in
   the model bundle. A trigger beyond the honest range lands on its edge.
2. **Honest sites teach the edge.** Each adds ``augment`` × its rows, copies of its own rows
   with 1 to ``max_columns`` numeric inputs set to ``±clip``, each copy keeping its row's label:
   "an input at the edge of the range does not change what a flow is". A trigger moved to the
   edge then meets honest updates that pull against it. With ``reach`` the copies' values are
   drawn from ``[clip, reach]`` instead: beyond the clip, where the attacker trains its
   trigger, honest training then pulls against it too (the model still clips at scoring).
   This is data augmentation as a backdoor sanitiser (Borgnia et al., "Strong Data
   Augmentation Sanitizes Poisoning and Backdoor Attacks Without an Accuracy Tradeoff",
   ICASSP 2021), done by the benign clients of a federation as in FLIP (Zhang et al.,
   "FLIP: A Provable Defense Framework for Backdoor Mitigation in Federated Learning",
   ICLR 2023), with the edge of the range in place of an inverted trigger.
3. **A second look at the edge** (``recheck``): at scoring, a row with numeric inputs at
   ``±clip`` is scored again with them at ``±recheck`` and keeps the more malicious verdict
   (:meth:`~fedsec.features.preprocess.Preprocessor.pulled_in`; the level travels in the
   bundle with the clip).

A dishonest organization controls its own training and skips the first two (it trains on its
trigger unclipped); the simulation models it so. An in-range trigger (values honest data take)
is not what this guards against. Measured (backdoor success and clean cost): docs/robustness.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from fedsec.core import seeding
from fedsec.core.configfile import StrictConfig
from fedsec.features.preprocess import CLIP as DEFAULT_CLIP  # without a guard (sd)


class RangeGuardConfig(StrictConfig):
    """The ``[range_guard]`` section: clip level and the honest sites' edge augmentation."""

    clip: float = Field(
        default=2.0, gt=0, le=DEFAULT_CLIP, description="model inputs clipped to ± this (sd)"
    )
    augment: float = Field(
        default=1.0, ge=0, le=4, description="edge copies per row each honest site adds"
    )
    max_columns: int = Field(
        default=3, ge=1, description="numeric inputs set to the edge in one copy: 1 to this"
    )
    reach: float | None = Field(
        default=None,
        gt=0,
        le=DEFAULT_CLIP,
        description="edge values drawn from [clip, reach] sd (none: exactly clip)",
    )
    recheck: Annotated[float, Field(ge=0)] | Literal[False] = Field(
        default=1.5,
        description="rows with inputs at the clip scored again with them at ± this (false: off)",
    )

    @field_validator("recheck", mode="before")
    @classmethod
    def _level_or_false(cls, value: object) -> object:
        if value is True:
            raise ValueError("recheck is a level in sd, or false to turn the second look off")
        return value

    @model_validator(mode="after")
    def _reach_beyond_clip(self) -> RangeGuardConfig:
        if self.reach is not None and self.reach < self.clip:
            raise ValueError(
                f"range_guard.reach {self.reach} is below range_guard.clip {self.clip}"
            )
        if self.recheck is not False and self.recheck >= self.clip:
            raise ValueError(
                f"range_guard.recheck {self.recheck} must be below range_guard.clip {self.clip}"
            )
        return self

    @property
    def recheck_level(self) -> float | None:
        """Where the second look puts inputs at the clip (None: no second look)."""
        return None if self.recheck is False else float(self.recheck)

    def edge_values(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` edge magnitudes: ``clip``, or uniform in [clip, reach]."""
        if self.reach is None:
            return np.full(count, self.clip)
        return rng.uniform(self.clip, self.reach, size=count)


def scoring_edge(guard: RangeGuardConfig | None) -> tuple[float, float | None]:
    """The clip and the second look's level a model's preprocessing takes from ``guard``
    (without a guard: the default clip, no second look)."""
    if guard is None:
        return DEFAULT_CLIP, None
    return guard.clip, guard.recheck_level


def numeric_inputs(names: list[str]) -> np.ndarray:
    """Positions of the model inputs that are numeric values (not flags or hash buckets)."""
    return np.asarray(
        [i for i, n in enumerate(names) if "#" not in n and "__missing" not in n], dtype=np.int64
    )


def edge_copies(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    config: RangeGuardConfig,
    seed: int,
    site: str,
) -> tuple[np.ndarray, np.ndarray]:
    """A site's rows plus ``augment`` × as many edge copies (see the module docstring), drawn
    from the site's own seeded stream; the originals come first, unchanged."""
    numeric = numeric_inputs(names)
    copies = round(config.augment * len(y))
    if copies == 0 or len(numeric) == 0 or len(y) == 0:
        return x, y
    rng = seeding.rng(seed, "range_guard", site)
    rows = rng.choice(len(y), size=copies, replace=copies > len(y))
    edge = x[rows].copy()
    most = min(config.max_columns, len(numeric))
    for copy in range(copies):
        count = int(rng.integers(1, most + 1))
        columns = rng.choice(numeric, size=count, replace=False)
        edge[copy, columns] = config.edge_values(rng, count) * rng.choice((-1.0, 1.0), size=count)
    return np.concatenate([x, edge]), np.concatenate([y, y[rows]])

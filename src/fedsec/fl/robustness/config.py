"""The ``[robustness]`` section of a scenario: which robust rule the coordinator aggregates with.

Absent (the default), the coordinator takes the plain sample-weighted mean, as before. Present,
every round's updates go through :class:`fedsec.fl.robustness.base.RobustAggregation`: sample
counts are capped, then the named rule combines the updates.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fedsec.core.configfile import StrictConfig

RuleName = Literal[
    "mean",
    "norm_bound",
    "median",
    "trimmed_mean",
    "multi_krum",
    "fltrust",
    "cosine_filter",
    "flame",
    "pair_conflict",
]

#: The rule ``[robustness]`` picks when it names none (measured: docs/robustness.md).
DEFAULT_RULE: RuleName = "pair_conflict"


class RobustnessConfig(StrictConfig):
    """A robust aggregation rule and its settings.

    ``max_byzantine`` is the number of dishonest organizations per round the rule is sized
    for (Krum's ``f``, trimmed mean's cut per side); ``None`` takes the largest the rule
    tolerates with a strict honest majority."""

    rule: RuleName = DEFAULT_RULE
    max_byzantine: int | None = Field(default=None, ge=0)
    norm_multiplier: float | None = Field(
        default=None,
        gt=0,
        description="bound = multiplier x the round's median norm (default: norm_bound and "
        "cosine_filter 1, pair_conflict 2)",
    )
    max_weight_ratio: float = Field(
        default=2.0, ge=1, description="an organization weighs at most this x the median weight"
    )
    min_cosine: float = Field(
        default=0.0, ge=-1, lt=1, description="cosine_filter: least cosine with the median update"
    )
    memory: float = Field(
        default=0.5, ge=0, lt=1, description="cosine_filter: weight of a site's past reputation"
    )
    conflict_cosine: float = Field(
        default=0.5, gt=0, lt=1, description="pair_conflict: a pair in conflict below -this"
    )
    conflict_memory: float = Field(
        default=0.8, ge=0, lt=1, description="pair_conflict: weight of a pair's past cosine"
    )
    unrelated_cosine: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="pair_conflict, opt-in: leave out a site whose moving-average cosine with "
        "every other site stays within ±this (0: off)",
    )
    benign_claim: float = Field(
        default=0.55,
        ge=0,
        description="pair_conflict: of a pair in conflict in some layer, leave out the side "
        "whose moving-average change of the benign output's bias stays above this x the "
        "round's median bias-change norm while the other's is negative, if it raises no "
        "attack family's bias (0: off)",
    )
    noise: float = Field(
        default=0.001, ge=0, description="flame: noise std per parameter, x the median norm"
    )
    root_rows: int = Field(default=2000, ge=50, description="fltrust: synthetic root rows")

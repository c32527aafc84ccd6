"""Robust aggregation rules, one module per rule with its paper, and the wrapper that applies
them (:class:`~fedsec.fl.robustness.base.RobustAggregation`) under any strategy.

A scenario's ``[robustness]`` section names the rule (:class:`RobustnessConfig`); without it
the coordinator averages as before. docs/robustness.md says what each rule defends.
"""

from __future__ import annotations

from fedsec.fl.robustness.base import Decision, Mean, RobustAggregation, RoundDefence, Rule
from fedsec.fl.robustness.config import DEFAULT_RULE, RobustnessConfig
from fedsec.fl.robustness.conflict import PairConflict
from fedsec.fl.robustness.cosine_filter import CosineFilter
from fedsec.fl.robustness.flame import Flame
from fedsec.fl.robustness.fltrust import FLTrust, RootUpdate
from fedsec.fl.robustness.krum import MultiKrum
from fedsec.fl.robustness.median import CoordinateMedian
from fedsec.fl.robustness.norm_bound import NormBound
from fedsec.fl.robustness.trimmed_mean import TrimmedMean


def build_rule(
    config: RobustnessConfig, root_update: RootUpdate | None = None, seed: int = 0
) -> Rule:
    """The rule ``config`` names (FLTrust needs the coordinator's ``root_update``; FLAME draws
    its noise from ``seed``)."""
    if config.rule == "fltrust":
        if root_update is None:
            raise ValueError("robustness.rule = 'fltrust' needs the coordinator's root data")
        return FLTrust(root_update)
    bound = config.norm_multiplier
    rules: dict[str, Rule] = {
        "mean": Mean(),
        "norm_bound": NormBound(bound or 1.0),
        "median": CoordinateMedian(),
        "trimmed_mean": TrimmedMean(config.max_byzantine),
        "multi_krum": MultiKrum(config.max_byzantine),
        "cosine_filter": CosineFilter(config.min_cosine, bound or 1.0, config.memory),
        "flame": Flame(config.noise, seed),
        "pair_conflict": PairConflict(
            config.conflict_cosine,
            config.conflict_memory,
            bound or 2.0,
            config.unrelated_cosine,
            config.benign_claim,
        ),
    }
    return rules[config.rule]


def robust_aggregation(
    config: RobustnessConfig,
    registered: dict[str, int],
    root_update: RootUpdate | None = None,
    seed: int = 0,
) -> RobustAggregation:
    """The aggregation rule a ``[robustness]`` section configures (``seed``: the run's)."""
    rule = build_rule(config, root_update, seed)
    return RobustAggregation(rule, registered, config.max_weight_ratio)


__all__ = [
    "DEFAULT_RULE",
    "CoordinateMedian",
    "CosineFilter",
    "Decision",
    "FLTrust",
    "Flame",
    "Mean",
    "MultiKrum",
    "NormBound",
    "PairConflict",
    "RobustAggregation",
    "RobustnessConfig",
    "RoundDefence",
    "Rule",
    "TrimmedMean",
    "build_rule",
    "robust_aggregation",
]

"""A rule's memory between rounds goes in and out of a checkpoint the same way whether the
coordinator reads the updates (robust aggregation) or only group sums (grouped secure
aggregation): one implementation for both."""

from __future__ import annotations

import numpy as np

from fedsec.fl.aggregation.grouped import GroupedSecureAggregation
from fedsec.fl.robustness import RobustAggregation, RobustnessConfig, build_rule
from fedsec.fl.robustness.base import RuleCheckpoint, rule_state


def test_both_aggregations_take_their_checkpoint_from_one_home():
    for kind in (RobustAggregation, GroupedSecureAggregation):
        assert issubclass(kind, RuleCheckpoint)
        assert kind.state_dict is RuleCheckpoint.state_dict
        assert kind.load_state is RuleCheckpoint.load_state


def test_a_state_saved_is_the_state_loaded():
    class Held(RuleCheckpoint):
        def __init__(self) -> None:
            self.rule = build_rule(RobustnessConfig(rule="pair_conflict"))
            self.like = [np.zeros((2, 2), dtype=np.float32)]

    saved, restored = Held(), Held()
    arrays, meta = saved.state_dict()
    restored.load_state(arrays, meta)
    assert restored.state_dict()[1] == meta == rule_state(saved.rule, saved.like)[1]

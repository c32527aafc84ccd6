"""A toy federation the engine and strategy tests run: four sites of separable rows, a tiny
MLP and a two-step local plan."""

import numpy as np
import torch

from fedsec.engines.inprocess import Shard
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.plan import TrainingPlan


def toy_shards() -> list[Shard]:
    """Four sites' separable 4-feature rows (120 each), each centred elsewhere."""
    rng = np.random.default_rng(7)
    shards = []
    for i, name in enumerate(["a", "b", "c", "d"]):
        x = rng.normal(loc=i, size=(120, 4)).astype(np.float32)
        shards.append(Shard(name, x, (x[:, 1] > i).astype(np.int64)))
    return shards


def toy_model() -> torch.nn.Module:
    """A 4-6-2 MLP, seeded."""
    return build_mlp(MLPSpec(4, 2, (6,), 0.0), torch.Generator().manual_seed(3))


def toy_plan(shard: Shard, round_: int) -> TrainingPlan:
    """Two local SGD steps, seeded by the round."""
    return TrainingPlan(steps=2, lr=0.05, seed=round_)

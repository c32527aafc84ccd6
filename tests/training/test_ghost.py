"""Ghost clipping equals Opacus' per-record clipping: same steps, same noise, same model."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from fedsec.training import dpsgd, ghost
from fedsec.training.local import local_update
from fedsec.training.params import get_params
from fedsec.training.plan import TrainingPlan


def mlp(dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(12, 16),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(16, 8),
        nn.ReLU(),
        nn.Linear(8, 4),
    )


def rows(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 12)).astype(np.float32) * 3  # large gradients: most get clipped
    return x, (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0)


@pytest.mark.parametrize(
    ("optimizer", "dropout", "weights", "clipping"),
    [
        ("sgd", 0.0, None, "flat"),
        ("adam", 0.2, (1.0, 2.0, 0.5, 4.0), "flat"),
        ("sgd", 0.0, (1.0, 2.0, 0.5, 4.0), "automatic"),
        ("adam", 0.2, None, "per_layer"),
    ],
)
def test_the_ghost_path_trains_the_model_opacus_trains(
    monkeypatch, optimizer, dropout, weights, clipping
):
    x, y = rows()
    plan = TrainingPlan(
        steps=15,
        batch_size=64,
        lr=0.05,
        optimizer=optimizer,
        weight_decay=1e-3,
        class_weights=weights,
        dp_noise_multiplier=0.8,
        dp_max_grad_norm=0.5,
        dp_clipping=clipping,
        seed=4,
    )
    start = get_params(mlp(dropout))
    fast = local_update(mlp(dropout), start, x, y, plan)
    monkeypatch.setattr(ghost, "supports", lambda network: False)  # Opacus' GradSampleModule
    reference = local_update(mlp(dropout), start, x, y, plan)
    assert fast.metrics["dp_steps"] == reference.metrics["dp_steps"] == 15
    assert fast.metrics["loss"] == pytest.approx(reference.metrics["loss"], rel=1e-4)
    for a, b in zip(fast.params, reference.params, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_an_empty_poisson_batch_releases_the_noise_alone(monkeypatch):
    x, y = rows(50)
    plan = TrainingPlan(steps=1, batch_size=1, dp_noise_multiplier=1.0, seed=0)
    network = mlp()
    start = get_params(network)
    monkeypatch.setattr(dpsgd, "poisson_batches", lambda *_: iter([torch.zeros(0).long()]))
    moved = local_update(network, start, x, y, plan)
    assert moved.metrics["loss"] == 0.0
    assert all(not np.array_equal(a, b) for a, b in zip(moved.params, start, strict=True))


def test_only_linear_networks_take_the_ghost_path():
    assert ghost.supports(mlp(0.1))
    assert not ghost.supports(nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 2)))
    assert not ghost.supports(nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)))


def test_class_weights_after_clipping_need_the_ghost_path(monkeypatch):
    x, y = rows(100)
    plan = TrainingPlan(
        steps=2,
        batch_size=16,
        class_weights=(1.0, 2.0, 0.5, 4.0),
        dp_noise_multiplier=1.0,
        dp_weigh_after_clipping=True,
    )
    network = mlp()
    start = get_params(network)
    weighed = local_update(network, start, x, y, plan)
    unweighted = local_update(network, start, x, y, replace(plan, dp_weigh_after_clipping=False))
    assert any(
        not np.allclose(a, b) for a, b in zip(weighed.params, unweighted.params, strict=True)
    )
    monkeypatch.setattr(ghost, "supports", lambda network: False)
    with pytest.raises(ValueError, match="class weights after clipping need"):
        local_update(network, start, x, y, plan)

"""DP-SGD's sampling: class sampling draws each class at its rate, never above the accounted one."""

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from fedsec.fl import recipe
from fedsec.scenarios.sections import ModelConfig
from fedsec.training import dpsgd, ghost
from fedsec.training.local import local_update
from fedsec.training.params import get_params
from fedsec.training.plan import TrainingPlan
from tests.conftest import unsw_training_frame

NUMERIC = ["dur", "spkts", "dpkts", "sbytes", "dbytes", "rate", "sload", "dload"]


@pytest.fixture(scope="module")
def unsw_slice() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """4,000 real UNSW-NB15 training rows: log-scaled numeric columns and family indices."""
    frame = unsw_training_frame()
    frame = frame.sample(4000, random_state=3)
    x = np.log1p(frame[NUMERIC].clip(lower=0).to_numpy(np.float32))
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    families = frame["attack_cat"].fillna("Normal").str.strip().to_numpy()
    classes = sorted(set(families))
    y = np.asarray([classes.index(f) for f in families], dtype=np.int64)
    return x, y, classes


def mlp(inputs: int, classes: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(inputs, 16), nn.ReLU(), nn.Linear(16, classes))


def sampled_plan(weights: tuple[float, ...], **fields) -> TrainingPlan:
    base = {"steps": 300, "batch_size": 400, "lr": 0.05, "seed": 5, "dp_noise_multiplier": 1.0}
    return TrainingPlan(class_weights=weights, dp_class_sampling=True, **{**base, **fields})


def test_class_sampling_draws_each_class_of_a_real_slice_at_its_rate(monkeypatch, unsw_slice):
    x, y, classes = unsw_slice
    counts = Counter(np.asarray(classes)[y].tolist())
    weights = recipe.class_weights(counts, classes, ModelConfig())
    plan = sampled_plan(weights)
    drawn: list[torch.Tensor] = []
    original = dpsgd.poisson_batches

    def recording(*args):
        for batch in original(*args):
            drawn.append(batch)
            yield batch

    monkeypatch.setattr(dpsgd, "poisson_batches", recording)
    network = mlp(x.shape[1], len(classes))
    local_update(network, get_params(network), x, y, plan)
    assert len(drawn) == plan.steps
    accounted = plan.batch_size / len(y)  # the rate the accountant charges every record
    times = np.bincount(y[torch.cat(drawn).numpy()], minlength=len(classes))
    held = np.bincount(y, minlength=len(classes))
    heaviest = max(weights)
    for c, w in enumerate(weights):
        expected = accounted * w / heaviest
        realised = times[c] / (held[c] * plan.steps)
        sd = np.sqrt(expected * (1 - expected) / (held[c] * plan.steps))
        assert abs(realised - expected) < 4 * sd + 1e-9, classes[c]
        assert realised <= accounted + 4 * sd
    benign = classes.index("Normal")
    assert times[benign] / (held[benign] * plan.steps) < accounted / 3


def test_the_rates_and_the_divisor_follow_the_class_weights_only():
    targets = torch.tensor([0, 1, 2, 2, 1, 0, 0, 0])
    weights = (0.5, 2.0, 4.0)
    rates, divisor = dpsgd.record_rates(sampled_plan(weights, batch_size=4), targets)
    q = 4 / 8
    shares = torch.tensor([0.125, 0.5, 1, 1, 0.5, 0.125, 0.125, 0.125], dtype=torch.float64)
    assert torch.allclose(rates, q * shares)
    assert divisor == 4 / 4.0  # the expected batch of the federation's class mix
    plain = replace(sampled_plan(weights, batch_size=4), dp_class_sampling=False)
    assert dpsgd.record_rates(plain, targets) == (q, 4.0)


def test_with_equal_class_weights_class_sampling_is_plain_dp_sgd(unsw_slice):
    x, y, classes = unsw_slice
    equal = (1.0,) * len(classes)
    plan = sampled_plan(equal, steps=20, dp_max_grad_norm=0.5)
    start = get_params(mlp(x.shape[1], len(classes)))
    sampled = local_update(mlp(x.shape[1], len(classes)), start, x, y, plan)
    plain = local_update(
        mlp(x.shape[1], len(classes)), start, x, y, replace(plan, dp_class_sampling=False)
    )
    for a, b in zip(sampled.params, plain.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_class_sampling_unweights_the_loss_on_both_clipping_paths(monkeypatch, unsw_slice):
    """The ghost path and Opacus' per-record path train the same model under class sampling,
    and it differs from the class-weighted loss at the same rates."""
    x, y, classes = unsw_slice
    weights = tuple(float(w) for w in np.linspace(0.5, 4.0, len(classes)))
    plan = sampled_plan(weights, steps=10, optimizer="adam", lr=0.01)
    start = get_params(mlp(x.shape[1], len(classes)))
    fast = local_update(mlp(x.shape[1], len(classes)), start, x, y, plan)
    monkeypatch.setattr(ghost, "supports", lambda network: False)
    reference = local_update(mlp(x.shape[1], len(classes)), start, x, y, plan)
    for a, b in zip(fast.params, reference.params, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert fast.metrics["loss"] == pytest.approx(reference.metrics["loss"], rel=1e-4)


def test_class_sampling_without_class_weights_is_refused(unsw_slice):
    x, y, classes = unsw_slice
    network = mlp(x.shape[1], len(classes))
    with pytest.raises(ValueError, match=r"class_sampling .* needs class weights"):
        local_update(network, get_params(network), x, y, sampled_plan(None))

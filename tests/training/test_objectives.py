import numpy as np
import pytest
import torch
from torch import nn

from fedsec.training.local import local_update
from fedsec.training.objectives import make_objective
from fedsec.training.params import get_params
from fedsec.training.plan import TrainingPlan


def _autoencoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 4))


def test_reconstruction_training_lowers_the_error_on_benign_rows():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(500, 2))
    x = np.hstack([base, base @ np.array([[1.0, -1.0], [0.5, 2.0]])]).astype(np.float32)
    model = _autoencoder()
    plan = TrainingPlan(objective="reconstruction", epochs=40, lr=0.01, optimizer="adam")
    error = make_objective(plan)
    inputs = torch.from_numpy(x)
    with torch.no_grad():
        before = float(error(model, inputs, torch.zeros(len(x))))
    trained = local_update(model, get_params(model), x, np.zeros(len(x)), plan)
    with torch.no_grad():
        after = float(error(model, inputs, torch.zeros(len(x))))
    assert after < 0.3 * before
    assert trained.num_samples == 500


def test_svdd_objective_is_the_mean_squared_distance_to_the_centre():
    model = nn.Identity()
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    loss = make_objective(TrainingPlan(objective="svdd", center=(0.0, 0.0)))
    assert float(loss(model, x, torch.zeros(2))) == pytest.approx((1 + 4) / 2)
    assert float(loss(model, x, torch.zeros(2), reduction="sum")) == pytest.approx(5)


def test_unknown_or_incomplete_objectives_are_refused():
    with pytest.raises(ValueError, match="unknown objective"):
        make_objective(TrainingPlan(objective="telepathy"))
    with pytest.raises(ValueError, match="centre"):
        make_objective(TrainingPlan(objective="svdd"))


def test_the_logit_adjusted_loss_shifts_logits_by_minus_log_weight_and_weighs_nothing():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    model = nn.Identity()
    y = torch.tensor([1, 2])
    weights = (0.5, 4.0, 16.0)
    adjusted = make_objective(TrainingPlan(class_weights=weights, logit_adjusted=True))
    shifted = logits - torch.log(torch.tensor(weights))
    expected = nn.functional.cross_entropy(shifted, y, reduction="sum")
    assert float(adjusted(model, logits, y, reduction="sum")) == pytest.approx(float(expected))
    assert adjusted.total_weight(y) == 2.0  # records count once each
    weighted = make_objective(TrainingPlan(class_weights=weights))
    assert weighted.total_weight(y) == 20.0
    # a rare class's record (large weight, small prior) needs a larger margin, a frequent one less
    plain = make_objective(TrainingPlan())
    rare, frequent = torch.tensor([2, 2]), torch.tensor([0, 0])
    assert float(adjusted(model, logits, rare)) > float(plain(model, logits, rare))
    assert float(adjusted(model, logits, frequent)) < float(plain(model, logits, frequent))

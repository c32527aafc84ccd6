import numpy as np
import torch

from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.local import local_gradient, local_update
from fedsec.training.params import get_params, max_abs_diff
from fedsec.training.plan import TrainingPlan


def _data(seed=0, n=600):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1.2)
    return x, y


def _model():
    return build_mlp(MLPSpec(6, 3, (16,), 0.0), torch.Generator().manual_seed(0))


def test_same_plan_same_parameters():
    x, y = _data()
    model = _model()
    start = get_params(model)
    plan = TrainingPlan(epochs=2, batch_size=64, lr=0.05, seed=11)
    a = local_update(model, start, x, y, plan)
    b = local_update(model, start, x, y, plan)
    assert max_abs_diff(a.params, b.params) == 0.0
    c = local_update(model, start, x, y, TrainingPlan(epochs=2, batch_size=64, lr=0.05, seed=12))
    assert max_abs_diff(a.params, c.params) > 0


def test_training_reduces_the_loss_and_counts_samples():
    x, y = _data()
    model = _model()
    first = local_update(model, get_params(model), x, y, TrainingPlan(steps=1, lr=0.05))
    later = local_update(model, first.params, x, y, TrainingPlan(epochs=20, batch_size=64, lr=0.05))
    assert later.metrics["loss"] < first.metrics["loss"]
    assert later.num_samples == len(x)


def test_proximal_term_keeps_the_model_near_the_global_one():
    x, y = _data()
    model = _model()
    start = get_params(model)
    free = local_update(model, start, x, y, TrainingPlan(epochs=5, lr=0.1))
    held = local_update(model, start, x, y, TrainingPlan(epochs=5, lr=0.1, prox_mu=5.0))
    distance = lambda p: sum(float(((a - b) ** 2).sum()) for a, b in zip(p, start, strict=True))  # noqa: E731
    assert distance(held.params) < distance(free.params)


def test_local_gradient_is_the_mean_gradient():
    x, y = _data(n=100)
    model = _model()
    params = get_params(model)
    grad = local_gradient(model, params, x, y, TrainingPlan())
    torch_model = _model()
    loss = torch.nn.functional.cross_entropy(torch_model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    expected = [p.grad.numpy() for p in torch_model.parameters()]
    assert max_abs_diff(grad, expected) < 1e-6

"""Every clipping rule bounds each record's gradient by the clipping norm (the sensitivity the
noise is calibrated to); automatic clipping with no stability term normalizes it to exactly C."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from fedsec.training.clipping import CLIPPINGS, clip_factors


def per_record_gradients(n: int = 40) -> list[list[torch.Tensor]]:
    """Each record's gradient of a small MLP, parameter tensor by parameter tensor (some
    large, some tiny: well-classified records)."""
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(n, 6) * torch.logspace(-3, 1, n)[:, None]
    y = torch.arange(n) % 3
    grads = []
    for i in range(n):
        network.zero_grad()
        nn.functional.cross_entropy(network(x[i : i + 1]), y[i : i + 1], reduction="sum").backward()
        grads.append([p.grad.detach().clone() for p in network.parameters()])
    return grads


def clipped(grads, clipping: str, norm: float, stability: float = 0.01):
    squared = torch.tensor([[float(g.square().sum()) for g in record] for record in grads])
    factors = clip_factors(squared, norm, clipping, stability)
    return [
        [f * g for f, g in zip(row, record, strict=True)]
        for row, record in zip(factors, grads, strict=True)
    ]


def l2(parts) -> float:
    return math.sqrt(sum(float(p.square().sum()) for p in parts))


@pytest.mark.parametrize("clipping", CLIPPINGS)
@pytest.mark.parametrize("norm", [0.5, 1.0])
def test_every_rule_bounds_each_records_contribution_by_the_clipping_norm(clipping, norm):
    grads = per_record_gradients()
    raw = [l2(record) for record in grads]
    assert min(raw) < norm < max(raw)  # both sides of the threshold
    bounded = [l2(record) for record in clipped(grads, clipping, norm)]
    assert max(bounded) <= norm * (1 + 1e-6)
    if clipping == "flat":  # records under the norm are left alone
        small = [b for r, b in zip(raw, bounded, strict=True) if r < norm]
        np.testing.assert_allclose(small, [r for r in raw if r < norm], rtol=1e-5)


def test_per_layer_clipping_bounds_each_parameter_tensor_by_its_share():
    grads = per_record_gradients()
    share = 1.0 / math.sqrt(len(grads[0]))
    for record in clipped(grads, "per_layer", 1.0):
        assert max(l2([part]) for part in record) <= share * (1 + 1e-6)


def test_automatic_clipping_normalizes_each_record():
    grads = per_record_gradients()
    exact = [l2(record) for record in clipped(grads, "automatic", 0.5, stability=0.0)]
    np.testing.assert_allclose(exact, 0.5, rtol=1e-5)  # AUTO-V: every record at exactly C
    raw = np.array([l2(record) for record in grads])
    stable = np.array([l2(record) for record in clipped(grads, "automatic", 0.5, 0.01)])
    np.testing.assert_allclose(stable, 0.5 * raw / (raw + 0.01), rtol=1e-5)  # AUTO-S


def test_flat_clipping_is_opacus_factor():
    squared = torch.tensor([[0.25, 0.0], [4.0, 5.0], [0.0, 0.0]])
    factors = clip_factors(squared, 1.0, "flat")
    expected = torch.tensor([1.0, 1 / (3 + 1e-6), 1.0])[:, None].expand(3, 2)
    torch.testing.assert_close(factors, expected)


def test_an_unknown_rule_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown clipping 'clamp'"):
        clip_factors(torch.ones(2, 2), 1.0, "clamp")


@pytest.mark.parametrize("clipping", CLIPPINGS)
def test_class_weights_after_clipping_scale_the_clipped_gradient(clipping):
    grads = per_record_gradients()
    class_weights = torch.tensor([0.5, 2.0, 8.0])
    record = class_weights[torch.arange(len(grads)) % 3]  # per_record_gradients' labels
    weighted = [[w * g for g in parts] for w, parts in zip(record, grads, strict=True)]
    squared = torch.tensor([[float(g.square().sum()) for g in parts] for parts in weighted])
    factors = clip_factors(squared, 0.5, clipping, 0.01, (record, 8.0))
    unweighted = clipped(grads, clipping, 0.5)
    for w, row, parts, expected in zip(record, factors, weighted, unweighted, strict=True):
        got = [f * g for f, g in zip(row, parts, strict=True)]
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, w / 8.0 * b)
        assert l2(got) <= 0.5 * float(w) / 8.0 * (1 + 1e-6)  # never above C

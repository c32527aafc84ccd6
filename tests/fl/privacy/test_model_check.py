"""The site's look at a global model: parallel units, units moving together on its rows, and
units firing for a handful of them (attacks through real sites: tests/engines/nvflare/
test_site_checks.py)."""

import numpy as np
import torch
from torch import nn

from fedsec.fl.privacy.model_check import (
    ModelCheckConfig,
    check_model,
    gated_layers,
    moving_together,
    parallel_units,
    unit_activity,
)


def network(first: np.ndarray, bias: np.ndarray, outputs: int = 3) -> nn.Sequential:
    net = nn.Sequential(
        nn.Linear(first.shape[1], len(first)), nn.ReLU(), nn.Linear(len(first), outputs)
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(first.astype(np.float32)))
        net[0].bias.copy_(torch.from_numpy(bias.astype(np.float32)))
    return net


def test_parallel_units_count_units_with_a_partner_either_way_and_skip_zero_rows():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(6, 20))
    weight[1] = 3 * weight[0]
    weight[2] = -weight[0]  # opposite: the same line
    weight[5] = 0.0
    assert parallel_units(weight, 0.99) == 3
    assert parallel_units(np.zeros((4, 3)), 0.99) == 0


def test_units_shifted_along_one_projection_move_together_even_with_noise_on_constant_columns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 16)).astype(np.float32)
    x[:, 8:] = 0.0  # columns that never vary
    v = rng.normal(size=16)
    first = np.tile(v, (32, 1))
    first[:, 8:] += rng.normal(scale=20.0, size=(32, 8))  # hides the angle, not the ordering
    bias = -np.quantile(x @ v, np.linspace(0.05, 0.95, 32))
    net = network(first, bias)
    assert parallel_units(first, 0.99) == 0
    assert moving_together(net, x, 0.99) == [32]
    honest = network(rng.normal(size=(32, 16)), rng.normal(size=32))
    assert moving_together(honest, x, 0.99) == [0]


def test_an_outlying_row_does_not_make_honest_units_look_alike():
    """Pearson correlation of pre-activations is dominated by one huge row; the ranks are not."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    x[0] = 1e4
    net = network(rng.normal(size=(16, 8)) + 1.0, np.zeros(16))  # every unit sees the outlier
    z = x @ net[0].weight.detach().numpy().T.astype(np.float64)
    assert np.corrcoef(z.T)[np.triu_indices(16, 1)].min() > 0.99
    assert moving_together(net, x, 0.99) == [0]


def test_units_that_never_fire_are_neither_moving_together_nor_isolating():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    v = rng.normal(size=6)
    net = network(np.tile(v, (20, 1)), np.full(20, -1e6))  # parallel, but dead on these rows
    assert unit_activity(net, x)[0].tolist() == [0] * 20
    assert moving_together(net, x, 0.99) == [20]  # their pre-activations: one projection
    assert moving_together(net, x, 0.99, [np.zeros(20, bool)]) == [0]  # none switches
    config = ModelCheckConfig(max_parallel_units=30)
    assert check_model(net, x, config) is None


def test_unit_activity_counts_the_rows_each_unit_fires_for():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(9000, 5)).astype(np.float32)  # more than one batch
    first, bias = rng.normal(size=(7, 5)), rng.normal(size=7)
    expected = ((x @ first.T.astype(np.float32) + bias.astype(np.float32)) > 0).sum(axis=0)
    assert unit_activity(network(first, bias), x)[0].tolist() == expected.tolist()


def test_a_trap_is_refused_naming_the_layer_and_the_limit_and_passes_when_the_check_is_off():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2000, 10)).astype(np.float32)
    first = rng.normal(size=(40, 10))
    first /= np.linalg.norm(first, axis=1, keepdims=True)
    tail = np.quantile(x @ first.T, 1 - 1.5 / len(x), axis=0)
    trap = network(first, -tail)
    why = check_model(trap, x, ModelCheckConfig())
    assert why is not None and "units of gated layer 1 fire for 1 to 9 of this site's 2000" in why
    assert "(this site allows 16)" in why
    assert check_model(trap, x, ModelCheckConfig(enabled=False)) is None
    assert check_model(trap, x, ModelCheckConfig(max_isolating_units=40)) is None


def test_units_binning_the_tail_of_many_rows_are_compared_whatever_the_sample_holds():
    """A review's bypass: units firing for 11 to 80 of 40,000 rows fired for too few rows of
    the sample to be compared, and for too many to count as isolating."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(40_000, 16)).astype(np.float32)
    x[:, 8:] = 0.0
    v = rng.normal(size=16)
    v[8:] = 0.0
    first = np.tile(v, (70, 1))
    first[:, 8:] += rng.normal(scale=20.0, size=(70, 8))
    ordered = np.sort(x @ v.astype(np.float32))[::-1]
    bias = -(ordered[11:81] + ordered[10:80]) / 2  # unit k fires for exactly 11 + k rows
    trap = network(first, bias)
    assert sorted(unit_activity(trap, x)[0].tolist()) == list(range(11, 81))
    assert parallel_units(first, 0.99) == 0
    why = check_model(trap, x, ModelCheckConfig())
    assert why is not None and why.startswith("70 units of gated layer 1 order this site's rows")


def test_the_layers_checked_are_those_followed_by_a_relu_or_a_leaky_relu():
    """Deep SVDD's bias-free layers end in LeakyReLU: counting only ReLU outputs left them
    unchecked; an autoencoder's bottleneck and every output layer have no gate."""
    from fedsec.models.autoencoder import build_autoencoder
    from fedsec.models.one_class_specs import AutoencoderSpec, SVDDSpec
    from fedsec.models.svdd import build_svdd

    svdd = build_svdd(SVDDSpec(inputs=12, hidden=(32, 16), embedding=4))
    assert [layer.out_features for layer in gated_layers(svdd)] == [32, 16]
    ae = build_autoencoder(AutoencoderSpec(inputs=12, hidden=(32,), bottleneck=4))
    assert [layer.out_features for layer in gated_layers(ae)] == [32, 32]
    x = np.random.default_rng(7).normal(size=(500, 12)).astype(np.float32)
    first = svdd.net[0].weight.detach().numpy()
    fired = (x @ first.T > 0).sum(axis=0)
    assert unit_activity(svdd, x)[0].tolist() == fired.tolist()

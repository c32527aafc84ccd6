"""A classifier alert's reasons: gradient x input for a network, TreeSHAP for trees, each input
column's preprocessed columns added up, largest first, with the row's own values."""

import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb

from fedsec.detect.reasons import contributions, reason_arrays, source_columns
from fedsec.features.preprocess import NumericSpec, Preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.trees import TreeClassifier, booster_params

CLASSES = ["benign", "dos", "recon"]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "bytes": rng.lognormal(5, 1, 300),
            "pkts": rng.normal(10, 3, 300),
            "protocol": rng.choice(["tcp", "udp", "icmp"], 300),
        }
    )
    frame.loc[::7, "pkts"] = np.nan
    pre = Preprocessor(
        [NumericSpec("bytes", True, 5.0, 1.0, False), NumericSpec("pkts", False, 10.0, 3.0, True)],
        ["protocol"],
        4,
    )
    labels = np.where(frame["bytes"] > 300, 1, np.where(frame["protocol"] == "icmp", 2, 0))
    return frame, pre, labels


def test_preprocessed_columns_belong_to_their_input_column(data):
    _, pre, _ = data
    names, owners = source_columns(pre)
    assert names == ["bytes", "pkts", "protocol"]
    assert pre.names == ["bytes", "pkts", "pkts__missing", *[f"protocol#{b}" for b in range(4)]]
    assert owners.tolist() == [0, 1, 1, 2, 2, 2, 2]


def test_a_linear_networks_reasons_are_its_exact_gradient_times_input(data):
    frame, pre, _ = data
    model = FamilyClassifier(MLPSpec(pre.width, 3, (), 0.0), pre, CLASSES, "native")
    model.initialize(torch.Generator().manual_seed(3))
    x = pre.transform(frame)[:20]
    targets = np.arange(20) % 3
    weight = model.module().net[0].weight.detach().numpy().astype(np.float64)
    proba = model.proba_from_matrix(x)
    # d log p_t / d x = W_t - sum_k p_k W_k
    expected = (weight[targets] - proba @ weight) * x
    np.testing.assert_allclose(contributions(model, x, targets), expected, rtol=1e-4, atol=1e-6)


def test_tree_reasons_add_up_to_the_familys_margin(data):
    frame, pre, labels = data
    x = pre.transform(frame)
    booster = xgb.train(booster_params(3, 3, 0.3, 32, 0), xgb.DMatrix(x, labels), 10)
    model = TreeClassifier(pre, CLASSES, "native").set_model(booster.save_raw("ubj"))
    targets = labels[:50]
    found = contributions(model, x[:50], targets)
    margins = booster.predict(xgb.DMatrix(x[:50]), output_margin=True)[np.arange(50), targets]
    bias = booster.predict(xgb.DMatrix(x[:50]), pred_contribs=True)[np.arange(50), targets, -1]
    np.testing.assert_allclose(found.sum(axis=1) + bias, margins, rtol=1e-4, atol=1e-4)


def test_reasons_are_the_top_columns_largest_first(data):
    frame, pre, labels = data
    x = pre.transform(frame)
    booster = xgb.train(booster_params(3, 3, 0.3, 32, 0), xgb.DMatrix(x, labels), 10)
    model = TreeClassifier(pre, CLASSES, "native").set_model(booster.save_raw("ubj"))
    rows = np.flatnonzero(labels == 1)[:5]
    names, order, amounts = reason_arrays(model, x, rows, np.asarray(["dos"] * len(rows)), k=2)
    assert order.shape == amounts.shape == (len(rows), 2)
    for columns, top in zip(order.tolist(), amounts.tolist(), strict=True):
        assert top[0] >= top[1]
        assert names[columns[0]] == "bytes"  # dos here is "bytes above 300"
    _, none, _ = reason_arrays(model, x, np.zeros(0, int), np.zeros(0, object))
    assert none.shape == (0, 3)


def autograd_contributions(network, inputs, targets):
    """Gradient x input by torch's autograd: the oracle."""
    inputs = inputs.requires_grad_(True)
    log_proba = torch.log_softmax(network(inputs), dim=1)
    picked = log_proba[torch.arange(len(inputs)), torch.from_numpy(targets)]
    (gradient,) = torch.autograd.grad(picked.sum(), inputs)
    return (gradient * inputs).detach().numpy().astype(np.float64)


@pytest.mark.parametrize("hidden, dropout", [((), 0.0), ((16,), 0.0), ((32, 16, 8), 0.2)])
def test_a_networks_backward_in_numpy_gives_autograds_numbers(data, hidden, dropout):
    frame, pre, _ = data
    model = FamilyClassifier(MLPSpec(pre.width, 3, hidden, dropout), pre, CLASSES, "native")
    model.initialize(torch.Generator().manual_seed(5))
    x = pre.transform(frame)
    targets = np.arange(len(x)) % 3
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    expected = autograd_contributions(model.module().eval(), inputs, targets)
    found = contributions(model, x, targets)
    assert found.dtype == expected.dtype
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
    assert np.count_nonzero(found) > found.size // 4


def test_reason_arrays_add_up_preprocessed_columns_as_np_add_at_does(data):
    frame, pre, labels = data
    model = FamilyClassifier(MLPSpec(pre.width, 3, (8,), 0.0), pre, CLASSES, "native")
    model.initialize(torch.Generator().manual_seed(2))
    x = pre.transform(frame)
    rows = np.arange(0, len(x), 3)
    families = np.asarray(CLASSES, dtype=object)[labels[rows]]
    names, order, amounts = reason_arrays(model, x, rows, families, k=2)
    found = contributions(model, x[rows], labels[rows])
    _, owners = source_columns(pre)
    per_column = np.zeros((len(rows), len(names)))
    np.add.at(per_column.T, owners, found.T)
    expected = np.argsort(-per_column, axis=1, kind="stable")[:, :2]
    assert np.array_equal(order, expected)
    assert np.array_equal(amounts, np.take_along_axis(per_column, expected, axis=1))

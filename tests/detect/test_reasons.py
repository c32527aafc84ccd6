"""A classifier alert's reasons: gradient x input of the family's log-odds against benign for a
network, TreeSHAP of the family's margin minus benign's for trees, each input column's
preprocessed columns added up, largest first, only those that pushed towards the family."""

import gzip

import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb

from fedsec.core import seeding
from fedsec.data.readers import read_flows
from fedsec.detect.reasons import UNLISTED, contributions, reason_arrays, source_columns
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import NumericSpec, Preprocessor, fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.models.trees import TreeClassifier, booster_params
from fedsec.training.plan import TrainingPlan
from tests.conftest import dataset

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
    # d (z_t - z_benign) / d x = W_t - W_benign (zero for benign itself)
    expected = (weight[targets] - weight[0]) * x
    np.testing.assert_allclose(contributions(model, x, targets), expected, rtol=1e-4, atol=1e-6)


def test_a_network_without_benign_explains_the_familys_log_probability(data):
    frame, pre, _ = data
    model = FamilyClassifier(MLPSpec(pre.width, 3, (), 0.0), pre, ["dos", "recon", "worm"], "x")
    model.initialize(torch.Generator().manual_seed(3))
    x = pre.transform(frame)[:20]
    targets = np.arange(20) % 3
    weight = model.module().net[0].weight.detach().numpy().astype(np.float64)
    # d log p_t / d x = W_t - sum_k p_k W_k
    expected = (weight[targets] - model.proba_from_matrix(x) @ weight) * x
    np.testing.assert_allclose(contributions(model, x, targets), expected, rtol=1e-4, atol=1e-6)


def test_tree_reasons_add_up_to_the_familys_margin_minus_benigns(data):
    frame, pre, labels = data
    x = pre.transform(frame)
    booster = xgb.train(booster_params(3, 3, 0.3, 32, 0), xgb.DMatrix(x, labels), 10)
    model = TreeClassifier(pre, CLASSES, "native").set_model(booster.save_raw("ubj"))
    targets = labels[:50]
    found = contributions(model, x[:50], targets)
    rows = np.arange(50)
    margins = booster.predict(xgb.DMatrix(x[:50]), output_margin=True)
    bias = booster.predict(xgb.DMatrix(x[:50]), pred_contribs=True)[:, :, -1]
    odds = margins[rows, targets] - margins[:, 0]
    np.testing.assert_allclose(
        found.sum(axis=1) + bias[rows, targets] - bias[:, 0], odds, rtol=1e-4, atol=1e-4
    )


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


def autograd_contributions(network, inputs, targets, benign=0):
    """Gradient x input by torch's autograd: the oracle. Of the target's log-odds against
    ``benign`` (its logit minus benign's), or with ``benign`` None of its log-probability."""
    inputs = inputs.requires_grad_(True)
    logits = network(inputs)
    picked = logits[torch.arange(len(inputs)), torch.from_numpy(targets)]
    if benign is None:
        picked = picked - torch.logsumexp(logits, dim=1)
    else:
        picked = picked - logits[:, benign]
    (gradient,) = torch.autograd.grad(picked.sum(), inputs)
    return (gradient * inputs).detach().numpy().astype(np.float64)


@pytest.mark.parametrize("hidden, dropout", [((), 0.0), ((16,), 0.0), ((32, 16, 8), 0.2)])
@pytest.mark.parametrize("classes, benign", [(CLASSES, 0), (["dos", "benign", "recon"], 1)])
def test_a_networks_backward_in_numpy_gives_autograds_numbers(
    data, hidden, dropout, classes, benign
):
    frame, pre, _ = data
    model = FamilyClassifier(MLPSpec(pre.width, 3, hidden, dropout), pre, classes, "native")
    model.initialize(torch.Generator().manual_seed(5))
    x = pre.transform(frame)
    targets = np.arange(len(x)) % 3
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    expected = autograd_contributions(model.module().eval(), inputs, targets, benign)
    found = contributions(model, x, targets)
    assert found.dtype == expected.dtype
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
    assert np.count_nonzero(found) > found.size // 4


def test_without_benign_the_backward_gives_autograds_log_probability_gradient(data):
    frame, pre, _ = data
    model = FamilyClassifier(MLPSpec(pre.width, 3, (16,), 0.0), pre, ["a", "b", "c"], "native")
    model.initialize(torch.Generator().manual_seed(5))
    x = pre.transform(frame)
    targets = np.arange(len(x)) % 3
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    expected = autograd_contributions(model.module().eval(), inputs, targets, None)
    np.testing.assert_allclose(contributions(model, x, targets), expected, rtol=1e-5, atol=1e-6)


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
    expected_amounts = np.take_along_axis(per_column, expected, axis=1)
    assert np.array_equal(amounts, expected_amounts)
    assert np.array_equal(order, np.where(expected_amounts.round(6) > 0, expected, UNLISTED))


def test_a_column_that_did_not_push_towards_the_family_is_not_a_reason(data):
    frame, pre, _ = data
    model = FamilyClassifier(MLPSpec(pre.width, 3, (8,), 0.0), pre, CLASSES, "native")
    model.initialize(torch.Generator().manual_seed(2))
    x = pre.transform(frame)
    rows = np.arange(len(x))
    _, order, amounts = reason_arrays(model, x, rows, np.asarray(["dos"] * len(x)), k=3)
    listed = order != UNLISTED
    assert (amounts[listed].round(6) > 0).all() and (amounts[~listed].round(6) <= 0).all()
    assert 0 < listed.sum() < listed.size  # some rows list fewer than 3, some none
    assert not (listed[:, 1:] & ~listed[:, :-1]).any()  # the unlisted ones come last


@pytest.fixture(scope="module")
def confident(tmp_path_factory):
    """A network trained on a slice of NSL-KDD's test file until many of its alerts score
    above 0.9999, with the slice's preprocessed rows."""
    with gzip.open(dataset("nsl-kdd/KDDTest+.txt.gz"), "rt") as source:
        lines = [next(source) for _ in range(1500)]
    path = tmp_path_factory.mktemp("nsl-kdd") / "kddtest.txt"
    path.write_text("".join(lines))
    table = read_flows("nsl-kdd", [path])
    seeding.deterministic_torch(threads=1)
    features = table.features("native")
    classes = sorted(set(table.family))
    pre = fit_preprocessor(local_stats(features), 8)
    plan = TrainingPlan(steps=300, batch_size=64, lr=0.01, optimizer="adam", seed=1)
    model = FamilyClassifier(
        MLPSpec(pre.width, len(classes), (16,), 0.0), pre, classes, "native", plan=plan
    )
    model.initialize(torch.Generator().manual_seed(0)).fit(features.frame, table.family)
    return model, model.encode(features.frame)


def test_the_most_confident_alerts_have_reasons(confident):
    """The log-probability's gradient vanishes as P(family) nears 1 (its reasons were ~1e-7
    here); the log-odds against benign's does not."""
    model, x = confident
    proba = model.proba_from_matrix(x)
    codes = model.codes_from_proba(proba, None)
    flagged = codes != model.classes.index("benign")
    rows = np.flatnonzero(flagged & (model.malicious_score(proba) >= 0.9999))
    assert len(rows) > 100
    families = np.asarray(model.classes, dtype=object)[codes[rows]]
    _, order, amounts = reason_arrays(model, x, rows, families)
    assert (order[:, 0] != UNLISTED).all()
    assert amounts[:, 0].min() > 0.1

"""The classifier's numpy forward: the torch network's tensor names and shapes without building
it, the network's numbers, and a row's score independent of the chunk it is scored in."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.signing import Trust
from fedsec.data.readers import read_flows
from fedsec.models import mlp_arrays
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from tests.detect.simulated_flows import bundle, flows_csv  # noqa: F401 (fixtures)


@pytest.fixture
def scored(bundle, flows_csv):  # noqa: F811
    """A trained bundle, loaded as detect loads it, and its preprocessed rows of simulated
    consortium flows."""
    model, _ = load_bundle(bundle, Trust(allow_unsigned=True))
    return model, model.encode(read_flows("flows", [flows_csv]).features(model.view).frame)


@pytest.mark.parametrize("hidden", [(), (16,), (128, 64), (32, 16, 8)])
def test_the_specs_tensor_shapes_are_the_networks(hidden):
    spec = MLPSpec(23, 5, hidden, 0.1)
    network = build_mlp(spec)
    assert spec.tensor_shapes() == {k: tuple(v.shape) for k, v in network.state_dict().items()}


def test_the_forward_gives_the_torch_networks_probabilities(scored):
    model, x = scored
    network = FamilyClassifier(model.spec, model.preprocessor, model.classes, model.view)
    network.set_weights(model.get_weights())
    with torch.no_grad():
        logits = network.module().eval()(torch.from_numpy(x.astype(np.float32)))
    expected = torch.softmax(logits, dim=1).numpy()
    found = model.proba_from_matrix(x)
    assert found.dtype == np.float32 and found.shape == expected.shape
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=2e-6)
    assert len(np.unique(found.argmax(axis=1))) > 1


@pytest.mark.parametrize("threads", [1, 2])
def test_a_rows_probabilities_do_not_depend_on_the_chunk_it_is_scored_in(scored, threads):
    """Bit for bit, whatever the chunk size or the BLAS thread count (in float32 OpenBLAS gives
    a row different bits depending on its place in the matrix)."""
    model, x = scored
    params = model.get_weights()
    with threadpool_limits(threads, user_api="blas"):
        whole = mlp_arrays.probabilities(params, x)
        for size in (1, 7, 97, 1000):
            parts = [
                mlp_arrays.probabilities(params, x[i : i + size]) for i in range(0, 3000, size)
            ]
            assert np.array_equal(np.concatenate(parts), whole[: sum(map(len, parts))]), size


def _plain_softmax(values):
    """The softmax as it was written before it went block by block in place (the reference)."""
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_the_in_place_softmax_gives_the_plain_softmaxs_bits(scored):
    """Over more rows than one block and over a partial last block, on real logits and on
    wide-ranging ones (whose exponentials underflow), in float32 and float64."""
    model, x = scored
    logits = mlp_arrays.logits(model.get_weights(), x)
    spread = np.random.default_rng(0).normal(0, 30, (mlp_arrays.ROWS + 5, 11))
    for values in (logits, spread, spread.astype(np.float32), logits[:1]):
        expected = _plain_softmax(values)
        found = mlp_arrays.softmax(values.copy())
        assert found.dtype == values.dtype and np.array_equal(found, expected)
    assert len(logits) > mlp_arrays.ROWS

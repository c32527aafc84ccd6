"""The one-class scorer's numpy forward: the torch networks' tensor names and shapes without
building them, their numbers on real UNSW-NB15 rows, and a row's score independent of the
chunk it is scored in."""

import numpy as np
import pandas as pd
import pytest
import torch
from threadpoolctl import threadpool_limits

from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.autoencoder import build_autoencoder
from fedsec.models.detectors import new_detector
from fedsec.models.one_class_specs import AutoencoderSpec, SVDDSpec
from fedsec.models.svdd import build_svdd
from tests.conftest import dataset

NUMERIC = ("dur", "spkts", "dpkts", "sbytes", "dbytes", "rate", "sload", "dload", "smean")
CATEGORICAL = ("proto", "service", "state")


@pytest.fixture(scope="module")
def rows():
    """2,000 benign UNSW-NB15 training rows, preprocessed."""
    frame = pd.read_csv(dataset("unsw-nb15/UNSW_NB15_training-set.csv.gz"), nrows=20000)
    frame = frame[frame["label"] == 0].head(2000).reset_index(drop=True)
    features = FeatureFrame(frame[[*NUMERIC, *CATEGORICAL]], NUMERIC, CATEGORICAL)
    pre = fit_preprocessor(local_stats(features), 8)
    return pre, pre.transform(features.frame)


@pytest.mark.parametrize("hidden", [(), (16,), (64, 32)])
def test_the_specs_tensor_shapes_are_the_networks(hidden):
    for spec, network in (
        (AutoencoderSpec(23, hidden, 4), build_autoencoder(AutoencoderSpec(23, hidden, 4))),
        (SVDDSpec(23, hidden, 6), build_svdd(SVDDSpec(23, hidden, 6))),
    ):
        shapes = {k: tuple(v.shape) for k, v in network.state_dict().items()}
        assert spec.tensor_shapes() == shapes


@pytest.mark.parametrize("kind", ["ae", "svdd"])
def test_the_errors_are_the_torch_networks(rows, kind):
    pre, x = rows
    detector = new_detector(kind, pre, "native", [32], 6, torch.Generator().manual_seed(4))
    detector.prepare([x])  # Deep SVDD's centre; nothing for the autoencoder
    with torch.no_grad():
        out = detector.module().eval()(torch.from_numpy(x.astype(np.float32))).numpy()
    if kind == "ae":
        expected = (out - x) ** 2
    else:
        expected = ((out - np.asarray(detector.center_, np.float32)) ** 2).sum(axis=1)[:, None]
    found = detector.raw_errors(x)
    assert found.dtype == np.float32 and found.shape == expected.shape
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-6)
    assert found.std() > 0


@pytest.mark.parametrize("kind", ["ae", "svdd"])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_rows_score_does_not_depend_on_the_chunk_it_is_scored_in(rows, kind, threads):
    pre, x = rows
    detector = new_detector(kind, pre, "native", [32], 6, torch.Generator().manual_seed(4))
    detector.prepare([x]).set_scale([detector.error_sums(x)])
    with threadpool_limits(threads, user_api="blas"):
        whole = detector.score_matrix(x)
        for size in (1, 7, 97, 1000):
            parts = [detector.score_matrix(x[i : i + size]) for i in range(0, len(x), size)]
            assert np.array_equal(np.concatenate(parts), whole), size

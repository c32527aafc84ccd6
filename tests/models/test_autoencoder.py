"""A fresh autoencoder's code must be narrower than its input, a width first known when the
preprocessor is fit on the data (``fedsec.models.autoencoder``): the shared model refuses a wider
``anomaly.bottleneck``, an organization's local model is capped to its own width."""

import numpy as np
import pandas as pd
import pytest
import torch

from fedsec.core.errors import ConfigError
from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import Preprocessor, fit_preprocessor
from fedsec.models.autoencoder import code_size
from fedsec.models.detectors import new_detector
from fedsec.models.one_class_specs import AutoencoderSpec
from tests.models.autoencoders import code_width


def preprocessor(columns: int) -> Preprocessor:
    rng = np.random.default_rng(0)
    names = tuple(f"x{i}" for i in range(columns))
    frame = pd.DataFrame(rng.normal(size=(50, columns)), columns=list(names))
    return fit_preprocessor(local_stats(FeatureFrame(frame, names, ())), 4)


@pytest.mark.parametrize("bottleneck", [6, 64])
def test_the_shared_model_refuses_a_bottleneck_not_narrower_than_its_input(bottleneck):
    """64 on 6 features was trained and shipped: a code that can copy its input reconstructs
    attacks as well as benign rows. Refused naming the setting and the input width."""
    pre = preprocessor(6)
    assert pre.width == 6
    with pytest.raises(ConfigError) as refused:
        new_detector("ae", pre, "native", [16], bottleneck, torch.Generator().manual_seed(0))
    said = str(refused.value)
    assert f"anomaly.bottleneck = {bottleneck} is not narrower" in said
    assert "shared autoencoder's input, 6 features" in said


@pytest.mark.parametrize(
    ("bottleneck", "inputs", "used"), [(8, 4, 3), (8, 2, 1), (4, 4, 3), (8, 1, 1)]
)
def test_a_local_model_on_narrower_data_is_capped_to_its_width_less_one(bottleneck, inputs, used):
    assert code_size(bottleneck, inputs, shared=False) == used


def test_the_local_network_is_built_narrower_than_its_input():
    """8 on 4 features: the local network's code is 3 wide; a narrower setting is kept in both
    settings, Deep SVDD's embedding (no code that could copy its input) and a bundle's own spec
    (read by ``from_json``) are left as they are."""
    pre = preprocessor(4)
    local = new_detector("ae", pre, "native", [16], 8, torch.Generator(), shared=False)
    assert local.spec == AutoencoderSpec(4, (16,), 3)
    assert code_width(local) == 3 < pre.width
    for shared in (True, False):
        kept = new_detector("ae", pre, "native", [16], 2, torch.Generator(), shared=shared)
        assert code_width(kept) == 2
    svdd = new_detector("svdd", preprocessor(3), "native", [16], 16, torch.Generator())
    assert svdd.spec.embedding == 16
    assert AutoencoderSpec.from_json({"inputs": 3, "hidden": [8], "bottleneck": 4}).bottleneck == 4

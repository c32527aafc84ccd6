"""DeepLog bundles: the manifest's vocabulary, index and top-k are validated before loading."""

import numpy as np
import pytest
import torch

from fedsec.bundles.logs_bundle import load_log_bundle, save_log_bundle
from fedsec.core.errors import BundleError
from fedsec.features.vocabulary import RESERVED, EventVocabulary
from fedsec.models.deeplog import DeepLogDetector, DeepLogSpec, build_deeplog
from fedsec.training.params import get_params
from tests.bundles.forging import rewrite


@pytest.fixture
def bundle(tmp_path):
    vocabulary = EventVocabulary(1 << 20, "test")
    known = np.unique(vocabulary.encode([("1", "2", "3")], {}, "sys")[0])
    spec = DeepLogSpec(RESERVED + len(known), window=3, embedding=4, hidden=8, layers=1)
    params = get_params(build_deeplog(spec, torch.Generator().manual_seed(0)))
    model = DeepLogDetector(spec, vocabulary, known).set_weights(params)
    model.top_k_ = {"a": 2, "*": 3}
    return save_log_bundle(tmp_path / "model", model, {"scenario": "t"}, {"a": "sys"})


def test_round_trip_is_signed_and_verified(bundle):
    model, _ = load_log_bundle(bundle)
    assert (bundle / "bundle.sig").is_file() and model.top_k_ == {"a": 2, "*": 3}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(index=m["index"][::-1]), "index must be increasing"),
        (lambda m: m.update(index=[RESERVED - 1, *m["index"][1:]]), "index must be increasing"),
        (lambda m: m.update(index=m["index"][:-1]), "outputs for"),
        (lambda m: m["top_k"].update(a=0), "top_k.a"),
        (lambda m: m["architecture"].update(layers=0), "architecture.layers"),
        (lambda m: m["architecture"].update(hidden=9), "tensor"),
        (lambda m: m["vocabulary"].update(buckets=1), "vocabulary.buckets"),
        (lambda m: m.update(end_token="yes"), "end_token"),
    ],
)
def test_invalid_log_manifests_are_refused(bundle, edit, message):
    rewrite(bundle, edit)
    with pytest.raises(BundleError, match=message):
        load_log_bundle(bundle)


def test_a_huge_vocabulary_is_refused_by_its_size(bundle):
    def huge(manifest: dict) -> None:
        manifest["architecture"].update(vocab=RESERVED + 3, embedding=60000, hidden=60000)

    rewrite(bundle, huge)
    with pytest.raises(BundleError, match="parameters, more than"):
        load_log_bundle(bundle)

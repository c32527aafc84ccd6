"""Every detector has the scikit-learn / PyOD shape: hyperparameters in the constructor
(get_params / set_params / clone), ``fit`` returning ``self``, learned state ending in ``_``, and
for network detectors the weights as the one federated interface."""

import inspect

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from fedsec.core import seeding
from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.features.vocabulary import RESERVED, EventVocabulary
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.deeplog import DeepLogDetector, DeepLogSpec
from fedsec.models.detectors import new_detector
from fedsec.models.iforest import IsolationForestDetector
from fedsec.models.logcounts import CountPCA, count_stats, fit_count_pca
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.params import get_params, max_abs_diff
from fedsec.training.plan import TrainingPlan

PLAN = TrainingPlan(steps=40, batch_size=64, lr=0.02, optimizer="adam", seed=1)
TOKENS = np.array([101, 202, 303, 404])


@pytest.fixture(autouse=True)
def _single_thread():
    seeding.deterministic_torch(threads=1)


def _frame(n=600, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": 2 * a + 0.05 * rng.normal(size=n), "proto": ["tcp"] * n})


def _pre(frame):
    return fit_preprocessor(local_stats(FeatureFrame(frame, ("a", "b"), ("proto",))), 2)


def _sessions(n=60, seed=0) -> list[np.ndarray]:
    """Normal sessions: the four tokens in order, sometimes repeated."""
    rng = np.random.default_rng(seed)
    return [np.tile(TOKENS, int(rng.integers(1, 3))) for _ in range(n)]


def _detectors():
    """(unfitted detector, training input, labels or None) for each kind of detector."""
    frame = _frame()
    pre = _pre(frame)
    generator = torch.Generator().manual_seed(0)
    families = np.where(frame["a"] > 0.5, "dos", "benign")
    spec = MLPSpec(pre.width, 2, (16,), 0.0)
    clf = FamilyClassifier(spec, pre, ["benign", "dos"], "native", plan=PLAN, rounds=3)
    deeplog = DeepLogDetector(
        DeepLogSpec(RESERVED + len(TOKENS), 3, 8, 16, 1), EventVocabulary(), TOKENS, plan=PLAN
    )
    return [
        (new_detector("ae", pre, "native", [8], 2, generator, plan=PLAN), frame, None),
        (new_detector("svdd", pre, "native", [8], 2, generator, plan=PLAN), frame, None),
        (IsolationForestDetector(pre, "native", trees=20, seed=1), frame, None),
        (clf.initialize(torch.Generator().manual_seed(1)), frame, families),
        (deeplog.initialize(torch.Generator().manual_seed(2)), _sessions(), None),
        (CountPCA(TOKENS, variance=0.9), _sessions(), None),
    ]


DETECTORS = _detectors()
IDS = [type(d).__name__ + (f"-{d.kind}" if hasattr(d, "kind") else "") for d, _, _ in DETECTORS]


@pytest.mark.parametrize("detector, x, y", DETECTORS, ids=IDS)
def test_hyperparameters_are_the_constructor_arguments(detector, x, y):
    params = detector.get_params()
    assert list(params) == sorted(inspect.signature(type(detector)).parameters)
    copy = clone(detector)  # scikit-learn checks each argument is stored unchanged
    assert copy.get_params().keys() == params.keys()
    assert not [k for k in vars(copy) if k.endswith("_")]  # nothing learned in __init__
    first = next(iter(params))
    assert copy.set_params(**{first: params[first]}) is copy


@pytest.mark.parametrize("detector, x, y", DETECTORS, ids=IDS)
def test_fit_returns_self_and_learns_state_ending_in_underscore(detector, x, y):
    detector = clone(detector)  # network detectors without weights draw them from ``seed``
    assert detector.fit(x, y) is detector
    learned = {k for k in vars(detector) if k.endswith("_") and not k.startswith("_")}
    assert learned  # what fit learned is visible under trailing-underscore names
    assert not [k for k in detector.get_params() if k.endswith("_")]
    scores = detector.decision_function(x)
    assert scores.shape == (len(x),) and np.isfinite(scores).all()
    if not isinstance(detector, FamilyClassifier):  # the classifier may decide by arg-max
        with pytest.raises((ValueError, KeyError), match=r"threshold|top_k"):
            detector.predict(x, "org1")  # fit leaves no operating point: calibrate one


@pytest.mark.parametrize("detector, x, y", DETECTORS[:2] + DETECTORS[3:5], ids=IDS[:2] + IDS[3:5])
def test_weights_are_the_federated_interface(detector, x, y):
    trained = clone(detector).fit(x, y)
    other = clone(detector).set_params(seed=7).fit(x, y)
    assert max_abs_diff(other.get_weights(), trained.get_weights()) > 0.01  # another seed
    other.set_weights(trained.get_weights())  # what a site does with the global model
    assert max_abs_diff(get_params(other.module()), trained.get_weights()) == 0.0
    for name in ("scale_", "center_"):
        if hasattr(trained, name):
            setattr(other, name, getattr(trained, name))
    assert np.array_equal(other.decision_function(x), trained.decision_function(x))


def test_the_classifier_fit_learns_the_families():
    frame = _frame()
    families = np.where(frame["a"] > 0.5, "dos", "benign")
    pre = _pre(frame)
    clf = FamilyClassifier(MLPSpec(pre.width, 2, (16,), 0.0), pre, ["benign", "dos"], "native")
    before = np.mean(clf.initialize(torch.Generator().manual_seed(0)).predict(frame) == families)
    clf.set_params(plan=PLAN, rounds=3).fit(frame, families)
    after = np.mean(clf.predict(frame) == families)
    assert after > 0.95 and after > before
    with pytest.raises(ValueError, match=r"labels \['recon'\] are not among the classes"):
        clf.fit(frame.iloc[:2], np.array(["benign", "recon"]))


def test_the_deeplog_fit_learns_the_order_of_normal_sessions():
    spec = DeepLogSpec(RESERVED + len(TOKENS), 3, 8, 16, 1)
    model = DeepLogDetector(spec, EventVocabulary(), TOKENS, plan=PLAN, rounds=3).fit(_sessions())
    model.top_k_ = {"*": 1}
    normal, shuffled = [TOKENS], [TOKENS[[2, 0, 3, 1]]]
    assert model.decision_function(normal)[0] == 0  # every event is the model's first choice
    assert model.predict(shuffled)[0] and not model.predict(normal)[0]


def test_count_pca_fit_on_one_party_is_the_fit_from_its_sums():
    sessions = [np.concatenate([s, TOKENS[: i % 3]]) for i, s in enumerate(_sessions())]
    direct = CountPCA(TOKENS, 0.9).fit(sessions)
    from_sums = fit_count_pca(count_stats(sessions, TOKENS), TOKENS, 0.9)
    assert np.allclose(direct.components_, from_sums.components_)
    assert np.allclose(direct.mean_, from_sums.mean_)

"""Every tree of a booster is checked before XGBoost predicts with it: malformed trees
(crafted from a real booster) are refused by name, where XGBoost would read out of bounds."""

import numpy as np
import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.models.tree_structure import MalformedBooster, check_ubj, tree_problem
from fedsec.models.trees import TreeClassifier
from tests.models.crafted_trees import EDITS, as_ubj, crafted, first_tree, model_json, small_trees


@pytest.fixture(scope="module")
def trained(data_dir) -> TreeClassifier:
    return small_trees(data_dir)


def _copy(model: TreeClassifier, booster: bytes) -> TreeClassifier:
    return TreeClassifier(model.preprocessor, model.classes, model.view).set_model(booster)


def test_a_real_boosters_trees_pass(trained):
    model = model_json(trained.model_)
    trees = model["learner"]["gradient_booster"]["model"]["trees"]
    assert trees and all(tree_problem(t, 10**9) is None for t in trees)
    _copy(trained, trained.model_).booster()  # loads


@pytest.mark.parametrize("name, edit, message", EDITS, ids=[e[0] for e in EDITS])
def test_a_malformed_tree_is_refused_before_any_prediction(trained, name, edit, message):
    model = _copy(trained, crafted(trained.model_, edit))
    with pytest.raises(MalformedBooster, match=f"tree 0: {message}"):
        model.proba_from_matrix(np.zeros((2, 86), dtype=np.float32))


def test_a_tree_adding_to_an_output_the_model_lacks_is_refused(trained):
    model = model_json(trained.model_)
    model["learner"]["gradient_booster"]["model"]["tree_info"][0] = 7
    with pytest.raises(MalformedBooster, match=r"an output outside 0\.\.4"):
        _copy(trained, as_ubj(model)).booster()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t["base_weights"].pop(), "arrays of other lengths: base_weights"),
        (lambda t: t["split_type"].__setitem__(0, 1), "categorical splits"),
        (lambda t: t["right_children"].__setitem__(1, -1), "a node with one child"),
        (lambda t: t["parents"].__setitem__(3, 2), "parents disagree"),
    ],
)
def test_inconsistent_node_arrays_are_refused(trained, edit, message):
    tree = first_tree(model_json(trained.model_))
    edit(tree)
    assert message in tree_problem(tree, 86)


def test_a_model_in_json_text_is_not_taken_for_ubjson(trained):
    text = bytes(trained.booster().save_raw("json"))
    with pytest.raises(MalformedBooster, match="not an XGBoost UBJSON model"):
        check_ubj(text)
    with pytest.raises(MalformedBooster, match="not an XGBoost UBJSON model"):
        _copy(trained, text).booster()
    check_ubj(trained.model_)

"""The booster a deployed tree job returns (built where the coordinator steers it) is checked
tree by tree before the user's machine predicts with it: a malformed one is the job's error in
one line, not a ValueError's traceback (or, before the checks, a segfault)."""

import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.engines.nvflare.results import DeploymentError
from fedsec.experiments.deployed import checked_booster
from fedsec.models.trees import TreeClassifier
from tests.models.crafted_trees import EDITS, crafted, small_trees


@pytest.fixture(scope="module")
def trained(data_dir) -> TreeClassifier:
    return small_trees(data_dir)


def _received(model: TreeClassifier, booster: bytes) -> TreeClassifier:
    received = TreeClassifier(model.preprocessor, list(model.classes), model.view)
    return received.set_model(booster)


@pytest.mark.parametrize("name, edit, message", EDITS[:3], ids=[e[0] for e in EDITS[:3]])
def test_a_malformed_booster_from_a_job_is_its_error(trained, name, edit, message):
    assert checked_booster(_received(trained, trained.model_)).booster() is not None
    with pytest.raises(DeploymentError, match=f"the job's booster is refused: tree 0: {message}"):
        checked_booster(_received(trained, crafted(trained.model_, edit)))


def test_bytes_that_are_no_model_are_its_error(trained):
    with pytest.raises(DeploymentError, match="the job's booster is refused"):
        checked_booster(_received(trained, b"{i\x05hello"))

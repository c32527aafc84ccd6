"""A site never predicts with a malformed booster: the coordinator steers the boosting, and
XGBoost crashes (segfault) predicting with a crafted tree, so the site refuses it first."""

import hashlib

import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.setups import TreeSetup
from fedsec.engines.nvflare.site_trees import checked_model
from tests.models.crafted_trees import EDITS, crafted, small_trees


@pytest.fixture(scope="module")
def trained(data_dir):
    model = small_trees(data_dir)
    setup = TreeSetup.model_validate(
        {
            "task": "trees",
            "view": model.view,
            "preprocessing": model.preprocessor.to_json(),
            "classes": list(model.classes),
            "class_weights": [1.0] * len(model.classes),
            "booster": {
                "max_depth": 4,
                "eta": 0.3,
                "max_bin": 64,
                "seed": 0,
                "base_score": [0.0] * len(model.classes),
            },
        }
    )
    return model, setup


def test_the_site_takes_a_well_formed_booster(trained):
    model, setup = trained
    assert checked_model(setup, model.model_, "evaluation").model_ == model.model_


@pytest.mark.parametrize("name, edit, message", EDITS, ids=[e[0] for e in EDITS])
def test_a_malformed_booster_from_the_coordinator_is_refused(trained, name, edit, message):
    model, setup = trained
    hostile = crafted(model.model_, edit)
    assert hashlib.sha256(hostile).hexdigest() != hashlib.sha256(model.model_).hexdigest()
    with pytest.raises(PlanRefused, match=f"evaluation at site x refused: .*tree 0: {message}"):
        checked_model(setup, hostile, "evaluation at site x")

"""A tree bundle whose booster is malformed (signed by a trusted key, size and sha256 right)
is refused when it is opened, naming the file and the problem, before XGBoost predicts: a
crafted tree made ``fedsec detect`` segfault."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.bundles.tree_bundle import load_tree_bundle, save_tree_bundle
from fedsec.bundles.tree_manifest import BOOSTER
from fedsec.core.errors import BundleError
from tests.bundles.test_tree_bundle import rewrite_booster
from tests.models.crafted_trees import EDITS, crafted, model_json, small_trees


@pytest.fixture(scope="module")
def booster(data_dir) -> tuple:
    """(the trained model, its booster's UBJSON bytes)."""
    model = small_trees(data_dir)
    return model, model.model_


@pytest.fixture
def bundle(booster, tmp_path):
    return save_tree_bundle(tmp_path / "model", booster[0], {"scenario": "nslkdd-5org-disjoint"})


@pytest.mark.parametrize("name, edit, message", EDITS, ids=[e[0] for e in EDITS])
def test_a_bundle_with_a_malformed_tree_is_refused_naming_it(booster, bundle, name, edit, message):
    rewrite_booster(bundle, lambda m: None, booster=crafted(booster[1], edit))
    with pytest.raises(BundleError, match=f"{BOOSTER}: refused: a malformed booster: tree 0: "):
        load_tree_bundle(bundle)
    with pytest.raises(BundleError, match=message):
        load_tree_bundle(bundle)


def test_a_booster_in_json_text_is_refused_as_not_the_declared_ubj(booster, bundle):
    text = bytes(booster[0].booster().save_raw("json"))
    assert model_json(booster[1]) == model_json(text)  # the same model, as JSON text
    rewrite_booster(bundle, lambda m: None, booster=text)
    with pytest.raises(BundleError, match=r"booster\.ubj: .*not an XGBoost UBJSON model"):
        load_tree_bundle(bundle)


def test_an_unreadable_booster_is_one_line_without_xgboosts_stack_trace(bundle):
    rewrite_booster(bundle, lambda m: None, booster=b"{L" + bytes(8))  # UBJ marker, then junk
    with pytest.raises(BundleError) as raised:
        load_tree_bundle(bundle)
    assert "unreadable XGBoost model" in str(raised.value)
    assert "\n" not in str(raised.value) and "Stack trace" not in str(raised.value)


def test_detect_exits_2_on_a_crafted_tree_instead_of_crashing(booster, bundle, data_dir, tmp_path):
    """The audit's reproduction: a split on feature 1,000,000 segfaulted ``fedsec detect``."""
    rewrite_booster(bundle, lambda m: None, booster=crafted(booster[1], EDITS[0][1]))
    flows = data_dir / "nsl-kdd" / "KDDTest+.txt.gz"
    command = [sys.executable, "-m", "fedsec", "detect", "--model", str(bundle), "--format"]
    command += ["nsl-kdd", "--input", str(flows), "--out", str(tmp_path / "alerts.jsonl")]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{bundle / BOOSTER}: refused: a malformed booster: tree 0: a split on feature" in (
        " ".join(done.stderr.split())
    )

"""The tree arms (``model.kind = "xgboost"``) on real rows: the federated booster matches the
centralized one trained on the pooled rows, under the same per-org decision rule."""

import numpy as np
import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.data.flows import concat_tables
from fedsec.experiments.driver import run_experiment
from fedsec.models.trees import TreeClassifier
from fedsec.scenarios.config import load_scenario

SMALL = [
    'model.kind="xgboost"',
    "data.max_rows=6000",
    "rounds=10",
    "evaluation.curve_points=2",
    'evaluation.arms=["centralized", "federated"]',
]


@pytest.fixture(scope="module")
def run(data_dir):
    return run_experiment(load_scenario("nslkdd-5org-disjoint", SMALL), data_dir)


def test_federated_trees_match_centralized_trees_on_the_same_rows(run):
    arms = run.metrics["arms"]
    fed, central = arms["federated"]["overall"], arms["centralized"]["overall"]
    assert abs(fed["macro_f1"] - central["macro_f1"]) <= 0.01
    federation = run.federation
    test = concat_tables([o.test for o in federation.orgs]).features(federation.view).frame
    fed_model = next(iter(run.arms["federated"].models.values()))
    central_model = next(iter(run.arms["centralized"].models.values()))
    assert isinstance(fed_model, TreeClassifier)
    agree = np.mean(fed_model.predict(test) == central_model.predict(test))
    assert agree >= 0.99


def test_tree_arms_calibrate_per_org_thresholds_and_report_curves(run):
    model = next(iter(run.arms["federated"].models.values()))
    orgs = [o.name for o in run.federation.orgs]
    assert set(orgs) <= set(model.thresholds_)
    assert [r for r, _ in run.metrics["arms"]["federated"]["curve"]] == [1, 10]
    assert run.ships_model()  # a tree bundle (tests/bundles/test_tree_bundle.py)

"""End to end on a real slice of UNSW-NB15: the three arms, per-org evaluation, determinism."""

import numpy as np
import pytest

from fedsec.experiments.driver import run_experiment
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification.experiment import val_benign_fpr

SMALL = ["data.max_rows=15000", "rounds=40", "evaluation.curve_points=4"]


@pytest.fixture(scope="module")
def experiment(data_dir):
    return run_experiment(load_scenario("unsw-5org-disjoint", SMALL), data_dir)


def test_federated_beats_local_on_families_an_org_never_saw(experiment):
    arms = experiment.metrics["arms"]
    assert set(arms) == {"centralized", "local", "local_recalibrated", "federated"}
    fed = arms["federated"]["overall"]
    fair = arms["local_recalibrated"]["overall"]
    assert fed["unseen_family_recall"] > fair["unseen_family_recall"] + 0.3
    assert fed["unseen_family_correct"] > 0.4 and fair["unseen_family_correct"] == 0.0
    for org, m in arms["federated"]["per_org"].items():
        assert m["unseen_rows"] > 0
        assert (
            m["unseen_family_recall"]
            > arms["local_recalibrated"]["per_org"][org]["unseen_family_recall"]
        )


def test_federation_recovers_most_of_what_pooling_gains_and_fpr_is_controlled(experiment):
    """On this slice (15,000 rows, 40 rounds) seeds 0 / 1 / 2 gave federated 0.502 / 0.455 /
    0.537, centralized 0.564 / 0.577 / 0.590 and recalibrated local 0.238 / 0.216 / 0.252: the
    federation closed 0.81 / 0.66 / 0.84 of the local-to-pooled gap, fed/central 0.89 / 0.79 /
    0.91. The bounds hold at every seed measured, not only at the fixture's."""
    arms = experiment.metrics["arms"]
    fed, cen = arms["federated"]["overall"], arms["centralized"]["overall"]
    local = arms["local_recalibrated"]["overall"]
    gap_closed = (fed["macro_f1"] - local["macro_f1"]) / (cen["macro_f1"] - local["macro_f1"])
    assert gap_closed >= 0.5
    assert fed["macro_f1"] >= 0.7 * cen["macro_f1"]
    assert fed["benign_fpr"] <= 0.03


def test_report_fields_and_recalibration(experiment):
    arms = experiment.metrics["arms"]
    for arm in arms.values():
        assert {"macro_f1", "benign_fpr", "unseen_family_recall"} <= set(arm["overall"])
        assert len(arm["per_org"]) == 5
    # the recalibrated local baseline operates at the federated model's FPR on validation
    federation = experiment.federation
    for index, org in enumerate(federation.orgs):
        fed_fpr = val_benign_fpr(experiment.arms["federated"].models[org.name], federation, index)
        local = experiment.arms["local"].models[org.name]
        benign = org.val.take(np.flatnonzero(org.val.family == "benign"))
        scores = local.decision_function(benign.features(federation.view).frame)
        threshold = arms["local_recalibrated"]["per_org"][org.name]["threshold"]
        local_fpr = float(np.mean(scores > threshold))
        assert local_fpr <= fed_fpr + 1e-9
        assert fed_fpr - local_fpr <= 2 / len(scores)
    assert len(arms["federated"]["curve"]) == 4


def test_same_seed_same_metrics(data_dir):
    """Every arm twice on a small slice (a source of randomness left unseeded shows at any
    size), and another seed gives other numbers."""
    tiny = ["data.max_rows=4000", "rounds=3", "evaluation.curve_points=2"]
    first = run_experiment(load_scenario("unsw-5org-disjoint", tiny), data_dir)
    again = run_experiment(load_scenario("unsw-5org-disjoint", tiny), data_dir)
    assert set(first.metrics["arms"]) == {"centralized", "local", "local_recalibrated", "federated"}
    assert again.metrics == first.metrics
    other = run_experiment(load_scenario("unsw-5org-disjoint", [*tiny, "seed=1"]), data_dir)
    assert other.metrics["arms"] != first.metrics["arms"]

"""The arms: the federated one fits preprocessing the way a deployment would; every arm
releases the model its training rule says (last round, or the mean of its last rounds)."""

import numpy as np
import pytest

from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification import arms, learner
from fedsec.tasks.classification.experiment import org_frames
from fedsec.training.params import max_abs_diff

SMALL = ["data.max_rows=6000", "rounds=1", "evaluation.curve_points=1"]


@pytest.fixture(scope="module")
def unsw(data_dir):
    scenario = load_scenario("unsw-5org-disjoint", SMALL)
    return scenario, org_frames(build_federation(scenario, data_dir))


def test_secure_aggregation_fits_preprocessing_from_secure_sums(unsw, monkeypatch):
    scenario, orgs = unsw
    secure = scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"secure_aggregation": True})}
    )
    calls = []
    real = learner.secure_statistics
    monkeypatch.setattr(
        learner,
        "secure_statistics",
        lambda rows, t: calls.append([r.name for r in rows]) or real(rows, t),
    )
    arms.train_federated(scenario, orgs, lambda _: None)
    assert calls == []  # in clear without secure aggregation
    arms.train_federated(secure, orgs, lambda _: None)
    assert calls == [[o.name for o in orgs]]


def test_every_arm_releases_the_mean_of_its_last_rounds(unsw, monkeypatch):
    scenario, orgs = unsw
    averaged = scenario.model_copy(
        update={
            "rounds": 4,
            "training": scenario.training.model_copy(update={"release_average": 0.5}),
        }
    )
    trained = []
    real = arms.local_update

    def recording(*args, **kwargs):
        update = real(*args, **kwargs)
        trained.append([p.copy() for p in update.params])
        return update

    monkeypatch.setattr(arms, "local_update", recording)
    central = arms.train_centralized(averaged, orgs, lambda _: None)
    released = next(iter(central.models.values())).params_
    expected = [np.mean([trained[2][i], trained[3][i]], axis=0) for i in range(len(released))]
    assert max_abs_diff(released, expected) < 1e-6  # rounds 3 and 4 of 4
    assert max_abs_diff(released, trained[3]) > 1e-5

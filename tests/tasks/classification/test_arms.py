"""The arms: the federated one fits preprocessing the way a deployment would; every arm
releases the model its training rule says (last round, or the mean of its last rounds)."""

import numpy as np
import pytest

from fedsec.scenarios.config import load_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.tasks.classification import arms
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
    real = arms.secure_statistics
    monkeypatch.setattr(
        arms,
        "secure_statistics",
        lambda rows, t: calls.append([r.name for r in rows]) or real(rows, t),
    )
    arms.train_federated(scenario, orgs, lambda _: None)
    assert calls == []  # in clear without secure aggregation
    arms.train_federated(secure, orgs, lambda _: None)
    assert calls == [[o.name for o in orgs]]


def test_secure_and_clear_learners_agree(unsw):
    scenario, orgs = unsw
    clear = arms.learner(scenario, orgs, "global")
    protected = arms.learner(scenario, orgs, "global", secure=True)
    assert protected.classes == clear.classes
    assert protected.weights == pytest.approx(clear.weights, rel=1e-12)
    assert protected.pre.names == clear.pre.names
    for a, b in zip(protected.pre.numeric, clear.pre.numeric, strict=True):
        assert a.log == b.log and a.indicator == b.indicator
        assert a.mean == pytest.approx(b.mean, rel=1e-12, abs=1e-15)
        assert a.std == pytest.approx(b.std, rel=1e-12)


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


def test_dp_statistics_keep_the_label_set_and_the_heavy_tails_of_the_exact_ones(unsw):
    scenario, orgs = unsw
    budget = ["privacy.sample_dp.epsilon=1", "privacy.sample_dp.batch_size=1024"]
    private = load_scenario(
        "unsw-5org-disjoint", [*SMALL, *budget, "privacy.sample_dp.stats_epsilon_share=0.1"]
    )
    exact = arms.learner(scenario, orgs, "global")
    noisy = arms.learner(private, orgs, "global")
    again = arms.learner(private, orgs, "global")
    assert noisy.pre.to_json() == again.pre.to_json()  # seeded in simulation
    multipliers = arms.stats_multipliers(private, orgs, pooled=False)
    assert set(multipliers) == {o.name for o in orgs} and min(multipliers.values()) > 1
    assert not arms.stats_multipliers(
        load_scenario("unsw-5org-disjoint", [*SMALL, *budget]), orgs, False
    )
    assert set(exact.classes) <= set(noisy.classes)
    assert [s.name for s in noisy.pre.numeric] == [s.name for s in exact.pre.numeric]
    for a, b in zip(noisy.pre.numeric, exact.pre.numeric, strict=True):
        vanished = (a.mean, a.std) == (0.0, 1.0)  # no bin of this slice above the noise floor
        assert a.log or not b.log or vanished, a.name  # heavy tails stay logged under the noise


def test_without_a_statistics_share_no_dp_sgd_noise_is_calibrated_for_the_statistics(
    unsw, monkeypatch
):
    """Opacus' search takes seconds an organization, and statistics without a share of the
    budget use none of it (distributed DP-SGD never uses an organization's own multiplier)."""
    _, orgs = unsw

    def calibrated(*args, **kwargs):
        raise AssertionError("a DP-SGD noise multiplier was calibrated for the statistics")

    monkeypatch.setattr(arms, "dp_noise", calibrated)
    budget = ["privacy.sample_dp.epsilon=3", "privacy.sample_dp.batch_size=512"]
    private = load_scenario("unsw-5org-disjoint", [*SMALL, *budget])
    for pooled in (False, True):
        assert arms.stats_multipliers(private, orgs, pooled) == {}

"""The learner: preprocessing, label set and class weights fitted on (federated) summaries,
the same from secure sums as in clear, and from DP statistics without losing the exact ones'
label set or heavy tails."""

import pytest

from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.classification import learner
from fedsec.tasks.classification.experiment import org_frames

SMALL = ["data.max_rows=6000", "rounds=1", "evaluation.curve_points=1"]


@pytest.fixture(scope="module")
def unsw(data_dir):
    scenario = load_scenario("unsw-5org-disjoint", SMALL)
    return scenario, org_frames(build_federation(scenario, data_dir))


def test_secure_and_clear_learners_agree(unsw):
    scenario, orgs = unsw
    clear = learner.learner(scenario, orgs, "global")
    protected = learner.learner(scenario, orgs, "global", secure=True)
    assert protected.classes == clear.classes
    assert protected.weights == pytest.approx(clear.weights, rel=1e-12)
    assert protected.pre.names == clear.pre.names
    for a, b in zip(protected.pre.numeric, clear.pre.numeric, strict=True):
        assert a.log == b.log and a.indicator == b.indicator
        assert a.mean == pytest.approx(b.mean, rel=1e-12, abs=1e-15)
        assert a.std == pytest.approx(b.std, rel=1e-12)


def test_dp_statistics_keep_the_label_set_and_the_heavy_tails_of_the_exact_ones(unsw):
    scenario, orgs = unsw
    budget = ["privacy.sample_dp.epsilon=1", "privacy.sample_dp.batch_size=1024"]
    private = load_scenario(
        "unsw-5org-disjoint", [*SMALL, *budget, "privacy.sample_dp.stats_epsilon_share=0.1"]
    )
    exact = learner.learner(scenario, orgs, "global")
    noisy = learner.learner(private, orgs, "global")
    again = learner.learner(private, orgs, "global")
    assert noisy.pre.to_json() == again.pre.to_json()  # seeded in simulation
    multipliers = learner.stats_multipliers(private, orgs, pooled=False)
    assert set(multipliers) == {o.name for o in orgs} and min(multipliers.values()) > 1
    assert not learner.stats_multipliers(
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

    monkeypatch.setattr(learner, "dp_noise", calibrated)
    budget = ["privacy.sample_dp.epsilon=3", "privacy.sample_dp.batch_size=512"]
    private = load_scenario("unsw-5org-disjoint", [*SMALL, *budget])
    for pooled in (False, True):
        assert learner.stats_multipliers(private, orgs, pooled) == {}

"""A site's own DP floor: a hostile coordinator can neither switch DP-SGD off at a site nor make
it spend more than its configured epsilon, however it words the plan."""

import pytest

from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import (
    config_from_scenario,
    load_site_config,
    write_site_config,
)
from fedsec.engines.nvflare.site_privacy import SitePrivacyConfig
from tests.engines.nvflare.test_site import _train_request

DP = {"epsilon": 1.0, "batch_size": 256, "local_steps": 2}


def guarded_site(consortium, **floor) -> Site:
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    return Site(config.model_copy(update={"privacy": SitePrivacyConfig(**floor)}), data)


def train(site, consortium, **plan):
    request, _ = _train_request(site, consortium)
    return site.handle("fedsec_train", request | {"plan": request["plan"] | plan})


def test_a_site_with_a_floor_refuses_a_plan_without_dp(consortium):
    site = guarded_site(consortium, max_epsilon=1.0)
    with pytest.raises(PlanRefused, match=r"trains only with record-level DP .* the plan has none"):
        train(site, consortium)
    assert site.ledger.history == [] and site.dp_steps == 0
    assert "params" in train(guarded_site(consortium), consortium)  # no floor: the plan decides


def test_a_site_spends_at_most_its_own_epsilon_over_the_job(consortium):
    site = guarded_site(consortium, max_epsilon=1.0)
    for round_ in (1, 2, 3):
        assert "params" in train(site, consortium, round=round_, rounds=3, sample_dp=DP)
    spent = site.ledger.epsilon()
    assert 0.9 < spent <= 1.0  # the plan's calibration, checked by the site's own ledger
    with pytest.raises(PlanRefused, match=r"epsilon over the job to .*beyond its .*max_epsilon 1"):
        train(site, consortium, round=3, rounds=3, sample_dp=DP)  # a replayed round
    assert site.ledger.epsilon() == spent  # the refused round trained nothing


def test_a_coordinator_cannot_replay_a_one_round_job_to_cut_the_noise(consortium):
    """Each 'round 1 of 1' plan calibrates the noise of a whole job into one round: the second
    such round would double the epsilon, so the site refuses it."""
    site = guarded_site(consortium, max_epsilon=1.0)
    assert "params" in train(site, consortium, round=1, rounds=1, sample_dp=DP)
    with pytest.raises(PlanRefused, match=r"beyond its privacy\.max_epsilon 1"):
        train(site, consortium, round=1, rounds=1, sample_dp=DP)


@pytest.mark.parametrize(
    "sample_dp, refusal",
    [
        (DP | {"epsilon": 4.0}, r"epsilon over the job to 2\.\d+, beyond"),
        (DP | {"delta": 1e-3}, r"sample_dp.delta 0.001 exceeds this site's privacy.max_delta"),
    ],
)
def test_a_plan_looser_than_the_floor_is_refused_before_training(consortium, sample_dp, refusal):
    site = guarded_site(consortium, max_epsilon=1.0)
    with pytest.raises(PlanRefused, match=refusal):
        train(site, consortium, round=1, rounds=3, sample_dp=sample_dp)
    assert site.dp_steps == 0


def test_the_floor_is_read_from_the_sites_own_file(tmp_path, consortium):
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    floor = SitePrivacyConfig(max_epsilon=2.0, max_delta=1e-6)
    path = write_site_config(config.model_copy(update={"privacy": floor}), tmp_path / "s.toml")
    assert "[privacy]\nmax_epsilon = 2.0\nmax_delta = 1e-06" in path.read_text()
    assert load_site_config(path).privacy == floor

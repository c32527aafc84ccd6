"""A site's own organization-level DP floor (``[privacy] min_client_noise``): a hostile
coordinator can neither switch client-level noise off at the site, lower it, nor read the
site's update with only a share of it."""

import pytest

from fedsec.engines.nvflare.plan import PlanRefused, ProtectionSettings
from fedsec.engines.nvflare.site_config import SiteTreesConfig, config_from_scenario
from fedsec.engines.nvflare.site_notes import weak_settings
from fedsec.engines.nvflare.site_privacy import (
    SitePrivacyConfig,
    check_client_noise,
    weak_privacy,
)
from tests.engines.nvflare.site_requests import guarded_site, train

pytestmark = pytest.mark.usefixtures("site_files_read_once")

IN_CLEAR_ALONE = {"client_noise_multiplier": 1.2, "client_min_reporting": 1}


def test_a_site_with_a_floor_refuses_a_plan_without_client_noise(consortium):
    site = guarded_site(consortium, min_client_noise=1.0)
    with pytest.raises(PlanRefused, match=r"min_client_noise\); the plan has 0"):
        train(site, consortium)
    assert "params" in train(guarded_site(consortium), consortium)  # no floor: the plan decides


def test_a_site_with_a_floor_refuses_less_noise_than_its_own(consortium):
    site = guarded_site(consortium, min_client_noise=1.0)
    lowered = IN_CLEAR_ALONE | {"client_noise_multiplier": 0.5}
    with pytest.raises(PlanRefused, match=r"at least 1 .* the plan has 0.5"):
        train(site, consortium, protection=lowered)


def test_a_share_of_the_noise_in_an_update_read_alone_is_refused(consortium):
    """In clear with three reporters a site adds 1/sqrt(3) of the noise, and the coordinator
    reads its update alone: the floor would not hold against it."""
    site = guarded_site(consortium, min_client_noise=1.0)
    shared = {"client_noise_multiplier": 1.2, "client_min_reporting": 3}
    with pytest.raises(PlanRefused, match=r"share \(1/sqrt\(3\)\).*secure sums"):
        train(site, consortium, sampled=3, protection=shared)


def test_the_whole_noise_at_or_above_the_floor_trains(consortium):
    site = guarded_site(consortium, min_client_noise=1.0)
    assert "payload" in train(site, consortium, protection=IN_CLEAR_ALONE)  # noised, sent


def test_under_secure_aggregation_a_share_is_admitted():
    """A secure sum the site helps release holds every share its noise is sized for (the
    site reveals nothing for fewer: test_coordinator_client_dp.py), so the floor admits
    shares there."""
    config = SitePrivacyConfig(min_client_noise=1.0)
    secure = ProtectionSettings(secure_aggregation=True, client_noise_multiplier=1.0)
    check_client_noise(config, "plant", secure, sampled=5)
    with pytest.raises(PlanRefused, match="share"):
        check_client_noise(
            config, "plant", secure.model_copy(update={"secure_aggregation": False}), 5
        )


def test_a_site_without_the_floor_is_told_the_plan_decides():
    assert any("min_client_noise" in note for note in weak_privacy(SitePrivacyConfig()))
    floored = SitePrivacyConfig(min_client_noise=1.0, max_epsilon=1.0)
    assert not any("min_client_noise" in note for note in weak_privacy(floored))


def test_a_site_with_floors_that_reveals_histograms_is_told_they_do_not_cover_them(consortium):
    """Boosted-tree jobs send gradient histograms in clear, outside both DP floors."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    floored = config.model_copy(update={"privacy": SitePrivacyConfig(min_client_noise=1.0)})
    revealing = floored.model_copy(update={"trees": SiteTreesConfig(reveal_histograms=True)})
    told = "histograms in clear, with neither the record-level nor the organization-level DP"
    assert any(told in note for note in weak_settings(revealing))
    assert not any(told in note for note in weak_settings(floored))

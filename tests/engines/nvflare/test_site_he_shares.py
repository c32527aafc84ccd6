"""Distributed DP-SGD noise shares travel only into secure sums, never under homomorphic
encryption: there the coordinator names the ciphertexts a site decrypts, and could have one
site's update (with 1/sqrt(m) of the noise its ledger charged in full) decrypted alone."""

import pytest

from fedsec.engines.nvflare.plan import (
    DeploymentSettings,
    JobSpec,
    PlanRefused,
    ProtectionSettings,
    SitePlan,
    parse,
)
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.site_privacy import SitePrivacyConfig
from fedsec.scenarios.config import SampleDpConfig
from fedsec.scenarios.loading import load_scenario
from tests.engines.nvflare.memory import he_kit
from tests.engines.nvflare.site_requests import train_request

pytestmark = pytest.mark.usefixtures("site_files_read_once")

SHARES = SampleDpConfig(epsilon=4.0, noise_shares=3, sample_rate=0.05)
HE = {"homomorphic_encryption": True}


def he_site(consortium) -> Site:
    """A site whose own config agreed on the plan's noise shares, its kit with an HE key."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    privacy = SitePrivacyConfig(noise_shares=3, sample_rate=0.05)
    client, _ = he_kit()
    return Site(config.model_copy(update={"privacy": privacy}), data, he_key=client)


def test_a_site_refuses_noise_shares_under_he_before_training(consortium):
    """A deviating coordinator's plan asks for HE and noise shares (which its own job spec
    would refuse): the site refuses it before training, and nothing is encrypted or sent."""
    site = he_site(consortium)
    request, _ = train_request(site, consortium)
    plan = request["plan"] | {
        "sampled": 3,
        "sample_dp": SHARES.model_dump(),
        "protection": HE,
    }
    with pytest.raises(PlanRefused, match="noise_shares needs secure aggregation"):
        site.handle("fedsec_train", request | {"plan": plan})
    assert site.dp_steps == 0 and site.ledger.history == [] and site.last_round == 0
    assert site.he.pending is None  # no update encrypted, none awaits a decryption


def test_the_sites_own_check_refuses_shares_whatever_the_plan_validation_let_through(
    consortium,
):
    """The site's ledger refuses a share outside a secure sum by itself (its own config
    named the shares), not only because the plan's validation does."""
    site = he_site(consortium)
    request, _ = train_request(site, consortium)
    valid = dict(parse(SitePlan, request["plan"] | {"sampled": 3}, "training plan"))
    for protection in (None, ProtectionSettings(**HE)):
        unchecked = SitePlan.model_construct(
            **(valid | {"sample_dp": SHARES, "protection": protection})
        )
        with pytest.raises(PlanRefused, match=r"at site plant: .*needs secure aggregation"):
            site.ledger.check_shares(unchecked)


def test_plans_jobs_and_scenarios_ask_for_shares_only_under_secure_aggregation(consortium):
    _, scenario = consortium
    shares = SHARES.model_dump()
    with pytest.raises(PlanRefused, match="noise_shares needs secure aggregation"):
        parse(
            SitePlan,
            {
                "round": 1,
                "rounds": 2,
                "seed": 0,
                "sampled": 3,
                "training": scenario.training.model_dump(mode="json"),
                "sample_dp": shares,
                "protection": HE,
            },
            "training plan",
        )
    raw = JobSpec.from_scenario(scenario, [], DeploymentSettings()).model_dump(mode="json")
    raw["privacy"]["sample_dp"] = shares
    raw["privacy"]["homomorphic_encryption"] = True
    with pytest.raises(ValueError, match="noise_shares needs secure aggregation"):
        JobSpec.model_validate(raw)
    # the in-process engine's scenario check says the same
    with pytest.raises(ValueError, match=r"noise_shares needs privacy\.secure_aggregation"):
        load_scenario(
            "unsw-5org-disjoint-dp",
            ["privacy.secure_aggregation=false", "privacy.homomorphic_encryption=true"],
        )

"""A valid training request for one site, as a coordinator's setup and first plan make it
(the site tests then change one field of it), and a site under its own DP floor to send it."""

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.site_privacy import SitePrivacyConfig
from fedsec.engines.nvflare.wire import params_to_wire


def train_request(site, consortium, **plan_changes):
    """A valid first-round request for ``site`` (in clear), from a coordinator's setup."""
    _, scenario = consortium

    class One:
        def exchange(self, task, data, targets, timeout):
            return {site.name: site.handle(task, data)}

    coordinator = Coordinator(
        JobSpec.from_scenario(scenario, [], DeploymentSettings()), One(), [site.name]
    )
    params, setup, weights = coordinator.setup()
    plan = coordinator.plan(1, 1, weights) | plan_changes
    return {"plan": plan, "model": setup, "params": params_to_wire(params)}, len(setup["classes"])


#: a plan's record-level DP settings (ε = 1) the DP tests send
DP = {"epsilon": 1.0, "batch_size": 256, "local_steps": 2}


def guarded_site(consortium, ledger=None, job="", **floor) -> Site:
    """The consortium's plant site with ``floor`` as its own ``[privacy]`` settings."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    privacy = SitePrivacyConfig(**floor)
    return Site(config.model_copy(update={"privacy": privacy}), data, job=job, ledger=ledger)


def train(site, consortium, **plan):
    """The site's reply to the first-round request with ``plan``'s fields changed."""
    request, _ = train_request(site, consortium)
    return site.handle("fedsec_train", request | {"plan": request["plan"] | plan})

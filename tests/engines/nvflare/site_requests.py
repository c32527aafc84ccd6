"""A valid training request for one site, as a coordinator's setup and first plan make it
(the site tests then change one field of it)."""

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
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

"""A FedAdam job of 2 of 3 sites a round over the in-memory transport, and the same job whose
coordinator crashed after a round, its checkpoints kept."""

import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.checkpoint_store import CheckpointStore
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from tests.engines.nvflare.memory import Crash, Memory, crash_after

ROUNDS = 5


def sampled_scenario(consortium, name="fedadam"):
    """FedAdam (server moments to carry over) and 2 of 3 sites a round (seeded sampling)."""
    _, scenario = consortium
    strategy = scenario.strategy.model_validate(
        scenario.strategy.model_dump() | {"name": name, "fraction": 0.5, "server_lr": None}
    )
    return scenario.model_copy(update={"rounds": ROUNDS, "strategy": strategy})


def coordinator(consortium, scenario, names=None, on_round=None, log=lambda _: None):
    """(spec, coordinator) of ``scenario``'s job over the in-memory transport (``names``: the
    sites it starts with; ``on_round``: called after each round, as a recorder is)."""
    data, _ = consortium
    seeding.deterministic_torch(threads=1)
    every = scenario.org_names()
    require = scenario.privacy.secure_aggregation  # clear runs opt out explicitly
    sites = {n: Site(config_from_scenario(scenario, n, data, require), data) for n in every}
    spec = JobSpec.from_scenario(scenario, [2, 4], DeploymentSettings(site_order=every))
    return spec, Coordinator(spec, Memory(sites), names or every, log, on_round=on_round)


def crashed(consortium, tmp_path, after: int, name: str = "fedadam") -> tuple:
    """(scenario, spec, checkpoint store, coordinator) of a job whose coordinator crashed
    after round ``after``, its checkpoints under ``tmp_path``."""
    scenario = sampled_scenario(consortium, name)
    spec, _ = coordinator(consortium, scenario)
    store = CheckpointStore(tmp_path, "job-a", spec)
    _, first = coordinator(consortium, scenario, on_round=crash_after(store, after))
    with pytest.raises(Crash):
        first.run()
    return scenario, spec, store, first

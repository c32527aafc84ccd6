"""The consortium's sites under secure aggregation, each with its own ledger file and statistics
rosters rule, and an honest coordinator gathering their statistics."""

from fedsec.core import seeding
from fedsec.engines.nvflare import statistics
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SiteConfig, config_from_scenario
from tests.engines.nvflare.memory import Recording

#: the consortium's organizations, sorted
ALL = ["cloud", "office", "plant"]


def secure_scenario(scenario):
    """``scenario`` under secure aggregation."""
    privacy = scenario.privacy.model_copy(update={"secure_aggregation": True})
    return scenario.model_copy(update={"privacy": privacy})


def roster_config(consortium, name, rule="same") -> SiteConfig:
    """Site ``name``'s config under secure aggregation, its statistics rosters rule ``rule``."""
    data, scenario = consortium
    config = config_from_scenario(secure_scenario(scenario), name, data)
    privacy = config.privacy.model_copy(update={"statistics_rosters": rule})
    return config.model_copy(update={"privacy": privacy})


def roster_sites(consortium, ledgers, job, rule="same"):
    """Each organization's site in job ``job``, with its own ledger file under ``ledgers``."""
    data, scenario = consortium
    sites = {}
    for name in scenario.org_names():
        (ledgers / name).mkdir(parents=True, exist_ok=True)
        config = roster_config(consortium, name, rule)
        sites[name] = Site(config, data, job=job, ledger=ledgers / name / LEDGER_FILE)
    return sites


def roster_coordinator(consortium, transport) -> Coordinator:
    """A coordinator of the consortium's secure job over ``transport``."""
    _, scenario = consortium
    names = scenario.org_names()
    seeding.deterministic_torch(threads=1)
    spec = JobSpec.from_scenario(
        secure_scenario(scenario), [], DeploymentSettings(site_order=names)
    )
    return Coordinator(spec, transport, names)


def gathered(consortium, sites) -> statistics.Gathered:
    """An honest coordinator's statistics of one job."""
    return statistics.gather(roster_coordinator(consortium, Recording(sites)))

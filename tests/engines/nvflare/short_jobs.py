"""The short (3-round) classification job several test files run over the in-memory transport:
gated sites holding kit identities, the job's runner and the admin's refusal check."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

import numpy as np

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.scenarios.config import Scenario, parse_scenario
from tests.engines.nvflare import releases
from tests.engines.nvflare.implants import BackdoorFinal
from tests.engines.nvflare.memory import Recording
from tests.engines.nvflare.releases import assert_refused

JOB = "job-short"
#: the site whose evaluation a hostile coordinator withholds in the tests that name one
VICTIM = "office"


def short(consortium) -> tuple:
    """The consortium's 3-round scenario, training enough in 3 rounds to detect attacks (its
    own 10 SGD steps under FedAdam barely leave the initial model)."""
    data, scenario = consortium
    raw = scenario.model_dump(mode="json", exclude_none=True)
    raw["strategy"] |= {"name": "fedavg"}
    raw["training"] |= {"local_steps": 100, "optimizer": "adam", "lr": 0.003, "momentum": 0.0}
    return data, parse_scenario(raw)


def grouped_consortium(consortium, orgs: int) -> tuple:
    """The first ``orgs`` organizations of the consortium's data in secure groups of two,
    ``pair_conflict`` (a rule with memory across rounds) across the group sums: 3 rounds."""
    root, _ = consortium
    raw = tomllib.loads((root / "scenario.toml").read_text())
    raw["data"]["sources"] = raw["data"]["sources"][:orgs]
    raw |= {"rounds": 3, "name": f"consortium-{orgs}", "robustness": {"rule": "pair_conflict"}}
    raw["privacy"] = {"secure_aggregation": True, "secagg_group_size": 2}
    return root, parse_scenario(raw)


def short_job(consortium, site: Callable[[tuple, str], Site]) -> tuple[Scenario, dict, JobSpec]:
    """A 3-round job of the consortium (:func:`short`), torch deterministic on one thread: its
    scenario, each organization's site in order (``site(short consortium, name)``), and the
    job's spec (curve points after round 2)."""
    consortium = short(consortium)
    scenario = consortium[1]
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {name: site(consortium, name) for name in names}
    return (
        scenario,
        sites,
        JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names)),
    )


def gated_site(consortium, project, name: str) -> Site:
    """A site whose gate refuses (its default 10 warm-up rounds) and judges detection at a
    10% false-positive rate (its few validation rows), holding its kit's keys."""
    data, scenario = consortium
    config = config_from_scenario(scenario, name, data, False)
    gate = config.gate.model_copy(update={"enabled": True, "action": "refuse", "target_fpr": 0.1})
    return Site(config.model_copy(update={"gate": gate}), data, keys=project.identity(name),
                job=JOB)  # fmt: skip


class ZeroFinal(Recording):
    """A hostile coordinator: the sites evaluate an all-zero final model."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_evaluate":
            data = data | {"params": [np.zeros_like(p) for p in data["params"]]}
        return super().exchange(task, data, targets, timeout)


def run_job(consortium, project, transport, tmp_path_factory):
    """(scenario, the fetched result folder, the transport) of a 3-round job."""
    scenario, sites, spec = short_job(
        consortium, lambda shortened, n: gated_site(shortened, project, n)
    )
    assert scenario.rounds == 3
    link = transport(sites)
    result = Coordinator(spec, link, list(sites)).run()
    assert result.error is None and result.evaluation
    if transport is ZeroFinal:  # the result holds the model the sites evaluated and signed
        result.params = [np.zeros_like(p) for p in result.params]
    return scenario, write_result(result, tmp_path_factory.mktemp("fetched")), link


def fetched_job(consortium, project, transport, tmp_path_factory, coordinator=Coordinator,
                site=gated_site) -> tuple:  # fmt: skip
    """(scenario, the result as fetched, the transport) of a 3-round job of ``site``s
    (``site(short consortium, project, name)``) over ``transport``, run by ``coordinator``."""
    scenario, sites, spec = short_job(consortium, lambda c, n: site(c, project, n))
    link = transport(sites)
    result = coordinator(spec, link, list(sites)).run()
    if transport is BackdoorFinal:  # the result holds the model the sites evaluated and signed
        result.params = link.final
    fetched = write_result(result, tmp_path_factory.mktemp("fetched"))
    return scenario, read_result(fetched), link


def refused(scenario, result, why, project, signer, tmp_path):
    assert_refused(scenario, result, JOB, why, project, signer, tmp_path)


def release(scenario, result, project, signer, out):
    return releases.release(scenario, result, JOB, project, signer, out)

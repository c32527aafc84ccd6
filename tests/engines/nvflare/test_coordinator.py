"""The deployment's protocol without NVFlare: coordinator and sites over an in-memory transport."""

import numpy as np

from fedsec import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import GateConfig, config_from_scenario
from fedsec.evaluation.arms import train_federated
from fedsec.evaluation.deployed import deployment_section, render
from fedsec.evaluation.experiment import org_frames
from fedsec.learning.params import max_abs_diff
from fedsec.scenarios.federation import build_federation


class Memory:
    """Delivers tasks to Site objects; ``vanish`` maps a site to the round it stops answering."""

    def __init__(self, sites, vanish=None):
        self.sites, self.vanish, self.round = sites, vanish or {}, 0
        self.seen: list[tuple[str, str]] = []

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train":
            self.round = data["plan"]["round"]
        replies = {}
        for name in targets:
            if self.round >= self.vanish.get(name, 10**9):
                continue
            self.seen.append((task, name))
            try:
                replies[name] = self.sites[name].handle(task, data)
            except PlanRefused as error:
                replies[name] = str(error)
        return replies


def run(consortium, settings=None, vanish=None, **privacy):
    data, scenario = consortium
    if privacy:
        scenario = scenario.model_copy(
            update={"privacy": scenario.privacy.model_copy(update=privacy)}
        )
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data), data) for n in names}
    spec = JobSpec.from_scenario(scenario, [2], settings or DeploymentSettings(site_order=names))
    transport = Memory(sites, vanish)
    return scenario, Coordinator(spec, transport, names).run(), transport


def in_process(consortium, scenario):
    data, _ = consortium
    seeding.deterministic_torch(threads=1)
    arm = train_federated(scenario, org_frames(build_federation(scenario, data)), lambda _: None)
    return next(iter(arm.models.values())).params


def test_same_global_model_as_the_in_process_engine(consortium):
    scenario, result, _ = run(consortium)
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    assert [h.contributed for h in result.history] == [scenario.org_names()] * 3
    assert set(result.curve) == {2}
    assert all("test" in reply for reply in result.evaluation.values())


def test_secure_aggregation_over_tasks_matches_the_in_process_secure_sum(consortium):
    scenario, result, transport = run(consortium, secure_aggregation=True)
    assert result.error is None
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    phases = {task for task, _ in transport.seen}
    assert {"fedsec_secagg_share", "fedsec_secagg_mask", "fedsec_secagg_reveal"} <= phases


def test_a_vanished_site_is_dropped_and_named_while_the_rest_finish(consortium):
    settings = DeploymentSettings(min_sites=2)
    _, result, _ = run(consortium, settings, vanish={"office": 2})
    assert result.error is None
    assert "office" in result.dropouts and "fedsec_train" in result.dropouts["office"]
    assert result.history[1].dropped == {"office": result.dropouts["office"]}
    assert result.history[2].contributed == ["cloud", "plant"]
    assert set(result.evaluation) == {"cloud", "plant"}
    assert np.isfinite(np.concatenate([p.ravel() for p in result.params])).all()


def test_too_few_sites_fail_the_job_with_the_reasons(consortium):
    settings = DeploymentSettings(min_sites=3)
    _, result, _ = run(consortium, settings, vanish={"office": 2})
    assert result.error is not None
    assert "2 site(s) left in round 2, 3 needed" in result.error
    assert "office: no reply to fedsec_train" in result.error


def test_a_site_vanishing_after_sharing_its_keys_is_unmasked_by_the_survivors(consortium):
    data, scenario = consortium
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data), data) for n in names}

    class LateDrop(Memory):
        def exchange(self, task, data, targets, timeout):
            if task == "fedsec_secagg_mask" and data["round"] == 2:
                targets = [t for t in targets if t != "cloud"]
            return super().exchange(task, data, targets, timeout)

    scenario = scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"secure_aggregation": True})}
    )
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(min_sites=2))
    result = Coordinator(spec, LateDrop(sites), names).run()
    assert result.error is None
    assert result.history[1].contributed == ["office", "plant"]
    assert "cloud" in result.dropouts and "cloud" in result.history[1].dropped
    assert result.history[2].contributed == ["office", "plant"]


def test_a_site_gate_refusal_is_recorded_and_reported(consortium):
    """office's gate has seen a model detecting every validation attack: worse ones are refused,
    the job goes on with the other sites and the report names each refusal."""
    data, scenario = consortium
    names = scenario.org_names()
    sites = {n: Site(config_from_scenario(scenario, n, data), data) for n in names}
    gate = GateConfig(enabled=True, max_drop=0.0, action="refuse", metric="detection_rate")
    office = config_from_scenario(scenario, "office", data).model_copy(update={"gate": gate})
    sites["office"] = Site(office, data)
    sites["office"].gate.best = 1.0
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.error is None and not result.dropouts
    for log in result.history:
        assert "validation detection_rate fell from 1.0000" in log.refused["office"]
        assert log.contributed == ["plant", "cloud"]
    report = render(deployment_section(result, "job-1"))
    assert "- round 2: refused by office: validation detection_rate fell from 1.0000" in report

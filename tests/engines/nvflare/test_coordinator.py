"""The deployment's protocol without NVFlare: coordinator and sites over an in-memory transport
give the in-process engine's model (every deployable strategy, SCAFFOLD, secure sums), and a
job goes on without the sites that vanish or refuse its models."""

import numpy as np
import pytest

from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import GateConfig, config_from_scenario
from fedsec.experiments.deployed import deployment_section, render
from fedsec.fl.gate.judge import Reference
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.memory import Memory, in_process, run

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def test_same_global_model_as_the_in_process_engine(consortium):
    scenario, result, _ = run(consortium)
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    assert [h.contributed for h in result.history] == [scenario.org_names()] * 3
    assert set(result.curve) == {2}
    assert all("test" in reply for reply in result.evaluation.values())


def test_the_deployed_release_is_the_in_process_mean_of_the_last_rounds(consortium):
    """``training.release_average``: the coordinator releases the mean of the last rounds'
    global models, as the in-process arm does (here rounds 2 and 3 of 3)."""
    data, scenario = consortium
    training = scenario.training.model_copy(update={"release_average": 0.5})
    scenario = scenario.model_copy(update={"training": training})
    _, result, _ = run((data, scenario))
    assert result.error is None
    released = in_process(consortium, scenario)
    assert max_abs_diff(result.params, released) == 0.0
    last = in_process(
        consortium,
        scenario.model_copy(
            update={"training": scenario.training.model_copy(update={"release_average": 0.0})}
        ),
    )
    assert max_abs_diff(released, last) > 1e-5


def test_the_deployed_server_step_decays_as_in_process(consortium):
    """``strategy.server_lr_decay``: the coordinator shrinks its server step by round number
    over the job's rounds, as the in-process arm does."""
    data, scenario = consortium
    strategy = scenario.strategy.model_copy(update={"server_lr_decay": "cosine"})
    scenario = scenario.model_copy(update={"strategy": strategy})
    _, result, _ = run((data, scenario))
    assert result.error is None
    decayed = in_process(consortium, scenario)
    assert max_abs_diff(result.params, decayed) == 0.0
    constant = scenario.model_copy(
        update={"strategy": strategy.model_copy(update={"server_lr_decay": "none"})}
    )
    assert max_abs_diff(decayed, in_process(consortium, constant)) > 1e-5


@pytest.mark.parametrize("name", ["fedprox", "fedyogi", "fedadagrad", "fedavgm"])
def test_every_deployable_strategy_gives_the_in_process_model(consortium, name):
    """The coordinator asks the strategy object for the round (FedProx's mu) and its server
    step: the deployed model equals the in-process one for each strategy."""
    data, scenario = consortium
    settings = scenario.strategy.model_dump() | {"name": name, "server_lr": None, "prox_mu": 0.5}
    scenario = scenario.model_copy(update={"strategy": scenario.strategy.model_validate(settings)})
    _, result, _ = run((data, scenario))
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0


class Replies(Memory):
    """Also keeps every site's reply to the training task."""

    def __init__(self, sites, vanish=None):
        super().__init__(sites, vanish)
        self.trained: list[dict] = []

    def exchange(self, task, data, targets, timeout):
        replies = super().exchange(task, data, targets, timeout)
        if task == "fedsec_train":
            self.trained += [r for r in replies.values() if isinstance(r, dict)]
        return replies


@pytest.mark.parametrize("protection", [{}, {"secure_aggregation": True}], ids=["clear", "secagg"])
def test_scaffold_deployed_gives_the_in_process_model(consortium, protection):
    """Sites keep their own control variates between rounds; the coordinator's control
    variate rides in the plan and the sites' changes come back in clear or, under secure
    aggregation, only inside the masked sum with the updates."""
    data, scenario = consortium
    settings = scenario.strategy.model_dump() | {"name": "scaffold", "server_lr": None}
    scenario = scenario.model_copy(update={"strategy": scenario.strategy.model_validate(settings)})
    scenario, result, transport = run((data, scenario), transport=Replies, **protection)
    assert result.error is None and not result.dropouts
    assert max_abs_diff(result.params, in_process(consortium, scenario)) == 0.0
    in_clear = [reply for reply in transport.trained if "extra" in reply]
    assert len(in_clear) == (0 if protection else 3 * len(scenario.org_names()))
    if protection:  # no loss: with a crafted model it told a record's membership
        sent = {"gate", "advertisement", "endorsement"}
        assert all(set(reply) == sent for reply in transport.trained)
    else:
        assert all("loss" in reply for reply in transport.trained)


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
    sites = {n: Site(config_from_scenario(scenario, n, data, False), data) for n in names}
    gate = GateConfig(
        enabled=True, max_drop=0.0, action="refuse", metric="detection_rate", warmup_rounds=0
    )
    office = config_from_scenario(scenario, "office", data, False)
    office = office.model_copy(update={"gate": gate})
    sites["office"] = Site(office, data)
    truth = np.asarray(sites["office"].data(scenario.data.view).val.family, dtype=object)
    sites["office"].gate.best = Reference(truth, truth, 1.0)  # a perfect model was accepted
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=names))
    result = Coordinator(spec, Memory(sites), names).run()
    assert result.error is None and not result.dropouts
    for log in result.history:
        assert "validation detection_rate fell from 1.0000" in log.refused["office"]
        assert log.contributed == ["plant", "cloud"]
    report = render(deployment_section(result, "job-1"))
    assert "- round 2: refused by office: validation detection_rate fell from 1.0000" in report

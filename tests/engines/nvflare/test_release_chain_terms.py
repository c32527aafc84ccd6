"""The training terms each site signs every round, against the scenario's (a hostile
coordinator that changes a round's plan: a proximal weight sent to a FedAvg job, other local
steps), and an honest FedProx job still released (honest FedAvg jobs: test_release_chain.py)."""

from __future__ import annotations

import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, SitePlan
from fedsec.engines.nvflare.plan_terms import expected_terms, round_plan, training_terms
from fedsec.engines.nvflare.release_records import Segment, other_terms, sightings
from fedsec.engines.nvflare.results import read_result, write_result
from fedsec.fl.strategies import from_config
from fedsec.scenarios.config import parse_scenario
from tests.engines.nvflare import releases
from tests.engines.nvflare.memory import AltersOneSite, Recording
from tests.engines.nvflare.releases import assert_refused, assert_refused_withheld
from tests.engines.nvflare.short_jobs import JOB, gated_site, run_job, short

pytestmark = pytest.mark.usefixtures("site_files_read_once")

VICTIM = "office"


class SendsProxMu(Recording):
    """A hostile coordinator: in round 3 of a FedAvg job it sends every site a proximal weight
    (FedProx's, which this strategy never sends), pulling each site's update towards the
    global model; it aggregates the updates honestly."""

    def exchange(self, task, data, targets, timeout):
        if task == "fedsec_train" and data["plan"]["round"] == 3:
            data = data | {"plan": data["plan"] | {"prox_mu": 5.0}}
        return super().exchange(task, data, targets, timeout)


class FewerSteps(AltersOneSite):
    """A hostile coordinator: in round 2 the victim alone trains 10 local steps, not the
    scenario's 100 (its update weakened), whose evaluation the coordinator then withholds."""

    def alter(self, data: dict) -> dict:
        plan = data["plan"]
        return data | {"plan": plan | {"training": plan["training"] | {"local_steps": 10}}}


CHANGED = (
    r"(\w+) signed it trained round 3 of job job-short under training terms \w+, not the "
    r"scenario's \w+: the coordinator changed its training plan"
)


def test_a_proximal_weight_sent_in_a_fedavg_job_is_refused(consortium, project, signer,
                                                           tmp_path, tmp_path_factory):  # fmt: skip
    """Each site trains as told and signs what it trained under; every site's evaluation
    accepts the final model, and its aggregation replays: the signed terms do not."""
    scenario, fetched, link = run_job(consortium, project, SendsProxMu, tmp_path_factory)
    result = read_result(fetched)
    assert any(d.get("plan", {}).get("prox_mu") == 5.0 for d in link.sent)
    assert all(r["accepted"] for r in result.evaluation.values())
    assert_refused(scenario, result, JOB, CHANGED, project, signer, tmp_path)


def test_other_local_steps_sent_to_a_site_whose_evaluation_is_withheld_are_refused(
    consortium, project, signer, tmp_path, tmp_path_factory
):
    """Its update's round statement, in the transcript, signs the terms it trained under."""
    scenario, fetched, _ = run_job(consortium, project, FewerSteps, tmp_path_factory)
    why = rf"round 2's update from {VICTIM}: its signed terms is \w+, the replay's \w+"
    assert_refused_withheld(scenario, fetched, VICTIM, JOB, why, project, signer, tmp_path)


def test_an_honest_fedprox_job_is_released(consortium, project, signer, tmp_path,
                                           tmp_path_factory):  # fmt: skip
    """Its sites sign the proximal weight the scenario gives them, and the replay expects it."""
    data, fedavg = short(consortium)
    raw = fedavg.model_dump(mode="json", exclude_none=True)
    raw["strategy"] |= {"name": "fedprox", "prox_mu": 0.1}
    scenario = parse_scenario(raw)
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    sites = {name: gated_site((data, scenario), project, name) for name in names}
    spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=names))
    link = Recording(sites)
    job = Coordinator(spec, link, names).run()
    assert job.error is None
    assert {d["plan"]["prox_mu"] for d in link.sent if "plan" in d and "rounds" in d["plan"]} == {
        0.1
    }
    result = read_result(write_result(job, tmp_path_factory.mktemp("fetched")))
    assert (releases.release(scenario, result, JOB, project, signer, tmp_path / "run")).is_dir()


def test_the_coordinators_plan_and_the_replay_agree_on_the_terms(consortium):
    """One home: the terms of the plan an honest coordinator builds are the replay's, and
    they change with each term the scenario fixes (not with the round or the sites sampled)."""
    _, scenario = short(consortium)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings())
    mu = from_config(spec.strategy).prox_mu

    def terms(round_=2, sampled=3, prox_mu=mu, **training) -> str:
        plan = round_plan(spec, round_, sampled, None, prox_mu)
        return training_terms(
            SitePlan.model_validate(plan | {"training": plan["training"] | training})
        )

    assert terms() == expected_terms(spec) == terms(round_=3, sampled=1)
    assert len({terms(), terms(prox_mu=0.5), terms(local_steps=10), terms(lr=0.01)}) == 4


def test_a_chain_entry_without_or_with_other_terms_is_refused():
    parts = [Segment(JOB, "", 1, 3)]
    entry = {"round": 1, "global": "a" * 64, "update": None, "samples": None}
    with pytest.raises(ValueError, match="cloud's signed chain of models holds a malformed"):
        sightings({"cloud": [entry | {"terms": 1}]}, parts)
    (signed,) = sightings({"cloud": [entry | {"terms": "b" * 64}]}, parts)
    assert other_terms([signed], "b" * 64) is None
    assert other_terms([signed], "c" * 64) == (
        f"cloud signed it trained round 1 of job {JOB} under training terms {'b' * 12}, not "
        f"the scenario's {'c' * 12}: the coordinator changed its training plan"
    )
    (unsigned,) = sightings({"cloud": [entry]}, parts)
    assert "under training terms none, not" in str(other_terms([unsigned], "c" * 64))

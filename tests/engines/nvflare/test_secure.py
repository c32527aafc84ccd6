"""Secure aggregation as the coordinator runs it: refusals recorded and reported, rounds that
cannot be unmasked aggregate nothing, a job no site reveals for fails with the reasons."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SecureAggregationConfig, config_from_scenario
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.experiments.deployed import deployment_section, render
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.kits import Project

VICTIM = "plant"


@pytest.fixture(scope="module")
def sites(secure):
    data, scenario = secure
    project = Project()
    return {
        n: Site(config_from_scenario(scenario, n, data), data, keys=project.identity(n), job="j")
        for n in scenario.org_names()
    }


class Relay:
    """Real sites behind an in-memory transport. ``tamper(task, data, site)`` returns what one
    site receives (None: the site never gets it); every reply is kept. Each relay starts the
    sites' secure aggregation afresh, as a new job does; ``policies`` are their own settings."""

    def __init__(self, sites, tamper=None, policies=None):
        self.sites, self.tamper, self.kept = sites, tamper, []
        for name, site in sites.items():
            own = SecureAggregationConfig(**(policies or {}).get(name, {}))
            site.secure = SiteSecAgg(name, own, site.secure.keys, site.secure.job)
            site.last_round, site.evaluated = 0, False
            site.statistics_rounds, site.statistics_columns = set(), []

    def exchange(self, task, data, targets, timeout):
        replies = {}
        for name in targets:
            message = data if self.tamper is None else self.tamper(task, data, name)
            if message is None:
                continue
            try:
                replies[name] = self.sites[name].handle(task, message)
            except PlanRefused as error:
                replies[name] = Refusal(error)
            self.kept.append((task, name, message.get("round"), replies[name]))
        return replies


def run(secure, relay, curve=()):
    _, scenario = secure
    seeding.deterministic_torch(threads=1)
    names = scenario.org_names()
    spec = JobSpec.from_scenario(scenario, list(curve), DeploymentSettings(site_order=names))
    result = Coordinator(spec, relay, names).run()
    return result, render(deployment_section(result, "job-1", "secure aggregation"))


def alone_in_its_plan_and_roster(task, data, site):
    """Attack (a): the victim's plan selects only it; its roster holds only itself."""
    if site != VICTIM or (data.get("round") or data.get("plan", {}).get("round")) != 1:
        return data
    if task == "fedsec_train":
        plan = data["plan"] | {"sampled": 1}
        return data | {"plan": plan | {"protection": plan["protection"] | {"threshold": 1}}}
    if task == "fedsec_secagg_share":
        mine = [e for e in data["roster"] if e["advertisement"]["sender"] == VICTIM]
        return data | {"roster": mine}
    return data


def masking_alone(task, data, site):
    """Attack (b): the victim is told it is the only participant."""
    if task == "fedsec_secagg_mask" and site == VICTIM and data["round"] == 1:
        return data | {"participants": [VICTIM]}
    return data


def test_a_site_sent_its_own_plan_and_roster_is_refused_by_every_site(secure, sites):
    """Attack (a): the victim refuses a roster of itself alone; the others, whose roster holds
    the victim's advertisement for another plan, refuse too: no masked update leaves anyone."""
    relay = Relay(sites, alone_in_its_plan_and_roster)
    result, report = run(secure, relay)
    refused = result.history[0].refused
    assert refused[VICTIM].startswith(
        "secure aggregation refused (share, round 1): roster of 1 organization"
    )
    for other in ("cloud", "office"):
        assert (
            f"roster: {VICTIM} answered another request than this organization" in (refused[other])
        )
    assert result.history[0].contributed == [] and result.params is None
    assert "0 site(s) left" in result.error
    masked = [r for t, s, n, r in relay.kept if t == "fedsec_secagg_mask" and n == 1]
    assert not [r for r in masked if isinstance(r, dict)]
    assert f"- round 1: refused by {VICTIM}: {refused[VICTIM]}" in report


def test_a_site_told_it_masks_alone_refuses_and_the_report_names_it(secure, sites):
    """Attack (b) by a coordinator that otherwise runs the job: the victim refuses, says why,
    sends no masked update, and the job goes on without it."""
    relay = Relay(sites, masking_alone)
    result, report = run(secure, relay)
    assert result.error is None
    refusal = result.history[0].refused[VICTIM]
    assert refusal.startswith(
        "secure aggregation refused (mask, round 1): participants: 1 organization(s)"
    )
    assert result.dropouts[VICTIM] == refusal
    assert [h.contributed for h in result.history] == [["cloud", "office"]] * 3
    masked = [
        r for t, s, n, r in relay.kept if t == "fedsec_secagg_mask" and s == VICTIM and n == 1
    ]
    assert not [r for r in masked if isinstance(r, dict)]
    assert f"- round 1: refused by {VICTIM}: {refusal}" in report
    assert "updates under secure aggregation." in report


def test_a_survivor_that_never_confirms_costs_one_round_and_the_report_says_so(secure, sites):
    def vanish(task, data, site):
        silent = task == "fedsec_secagg_confirm" and site == "cloud" and data["round"] == 2
        return None if silent else data

    result, report = run(secure, Relay(sites, vanish), curve=(1, 2, 3))
    assert result.error is None
    second = result.history[1]
    assert second.contributed == [] and "no confirmation from ['cloud']" in second.aborted
    assert max_abs_diff(result.curve[1], result.curve[2]) == 0.0  # the model stayed
    assert result.history[2].contributed == ["office", "plant"]
    assert "updates under secure aggregation in 2 of 3 rounds." in report
    assert "- round 2: secure aggregation stopped: no confirmation from ['cloud']" in report
    assert np.isfinite(np.concatenate([p.ravel() for p in result.params])).all()


def test_a_survivor_vanishing_after_it_confirmed_is_tolerated(secure, sites):
    """Two of three reveals still hold every secret's 2 shares: the round aggregates."""

    def vanish(task, data, site):
        silent = task == "fedsec_secagg_reveal" and site == "office" and data["round"] == 2
        return None if silent else data

    result, report = run(secure, Relay(sites, vanish))
    assert result.error is None
    assert result.history[1].contributed == ["cloud", "office", "plant"]
    assert "fedsec_secagg_reveal" in result.dropouts["office"]
    assert result.history[2].contributed == ["cloud", "plant"]
    assert "updates under secure aggregation." in report


def test_a_job_no_site_will_reveal_for_fails_and_never_claims_secure_aggregation(secure, sites):
    relay = Relay(sites, policies={s: {"min_contributors": 4} for s in sites})
    result, report = run(secure, relay)
    assert result.error is not None and result.params is None
    assert result.history == []  # the statistics' secure sums already fail: no round runs
    for site in sites:
        refusal = result.dropouts[site]
        assert refusal.startswith("secure aggregation refused (share, round -2)")
        assert "requires at least 4 contributors" in refusal
        assert f"- **{site}**: {refusal}" in report
    assert "no round aggregated an update." in report
    assert "gathered no statistics" in report
    assert "under secure aggregation" not in report

"""Secure aggregation at the sites, against a coordinator under an attacker's control.

Five real sites (their own configs, data and kit signatures) answer a coordinator that sends
each of them whatever suits an attack; it keeps every answer and tries to unmask one site's
update. The first three attacks unmasked it before the consistency round existed.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SecureAggregationConfig, config_from_scenario
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.engines.nvflare.statistics import STATISTICS_ROUNDS
from fedsec.engines.nvflare.wire import params_to_wire
from fedsec.fl.privacy.secagg import crypto
from fedsec.scenarios.config import parse_scenario
from tests.engines.nvflare.attacker import Attacker
from tests.engines.nvflare.kits import Project

pytestmark = pytest.mark.usefixtures("site_files_read_once")

JOB = "job-7"
VICTIM = "plant"


@pytest.fixture(scope="module")
def five(consortium):
    """(data folder, a 5-organization secure-aggregation scenario over the same files)."""
    data, _ = consortium
    raw = tomllib.loads((data / "scenario.toml").read_text())
    raw.update(name="consortium-5", rounds=3)
    raw.setdefault("privacy", {})["secure_aggregation"] = True
    return data, parse_scenario(raw)


@pytest.fixture(scope="module")
def identities(five):
    project = Project()
    return {name: project.identity(name) for name in five[1].org_names()}


def make_sites(federation, identities):
    data, scenario = federation
    return {
        name: Site(config_from_scenario(scenario, name, data), data, keys=identities[name], job=JOB)
        for name in scenario.org_names()
    }


class Direct:
    def __init__(self, sites):
        self.sites = sites

    def exchange(self, task, data, targets, timeout):
        return {t: self.sites[t].handle(task, data) for t in targets}


@pytest.fixture(scope="module")
def sites(five, identities):
    """Five real sites (their data read once for the module)."""
    return make_sites(five, identities)


@pytest.fixture(scope="module")
def train_task(five, sites):
    """What an honest coordinator sends with ``fedsec_train`` in round 1."""
    _, scenario = five
    seeding.deterministic_torch(threads=1)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings())
    coordinator = Coordinator(spec, Direct(sites), scenario.org_names())
    params, setup, weights = coordinator.setup()
    plan = coordinator.plan(1, len(scenario.org_names()), weights)
    return {"plan": plan, "model": setup, "params": params_to_wire(params)}


@pytest.fixture
def attack(sites, identities, train_task):
    """A coordinator bent on unmasking ``VICTIM``; each call starts the sites' secure
    aggregation afresh (as a new job would), ``policies`` giving a site's own settings."""

    def start(policies=None):
        for name, site in sites.items():
            own = SecureAggregationConfig(**(policies or {}).get(name, {}))
            site.secure = SiteSecAgg(name, own, identities[name], JOB)
            site.last_round, site.evaluated = 0, False
        return Attacker(sites, VICTIM, 1), train_task, list(sites)

    return start


def recovered(attacker, found):
    """Did the attacker get the victim's update (to fixed-point resolution)?"""
    assert attacker.truth is not None
    return found is not None and np.abs(found - attacker.truth).max() < 1e-3


def refusal(attacker, site):
    return " / ".join(why for (_, who), why in attacker.refusals.items() if who == site)


def test_a_plan_selecting_only_the_victim_gets_nothing(attack):
    """Attack (a): ``sampled = 1`` used to give threshold 1, and the victim revealed its own
    self-mask seed for a roster of itself alone."""
    attacker, task, _ = attack()

    def alone(site, plan):
        plan["sampled"] = 1
        plan["protection"] = plan["protection"] | {"threshold": 1}
        return plan

    found = attacker.run(
        task,
        [VICTIM],
        plan=alone,
        roster=lambda site, names: [VICTIM],
        participants=lambda site, names: [VICTIM],
    )
    assert not recovered(attacker, found)
    assert attacker.reveals() == []
    assert "(share, round 1): roster of 1 organization" in refusal(attacker, VICTIM)


@pytest.mark.parametrize(
    "field, value",
    [("weight_unit", 1e15), ("lr", 1e-30)],
    ids=["weights-vanish", "updates-vanish"],
)
def test_a_plan_that_differs_between_sites_gets_nothing(attack, field, value):
    """Every other site is sent a plan that makes its vector ~0 (a huge weight unit, a
    vanishing learning rate), so that the honest sum of the round is the victim's payload. The
    protocol ran consistently; nothing bound the request, until each advertisement carried its
    digest: now every site sees a peer answered another request and shares no key."""
    attacker, task, names = attack()

    def vanish(site, plan):
        if site == VICTIM:
            return plan
        if field == "lr":
            return plan | {"training": plan["training"] | {"lr": value}}
        return plan | {"protection": plan["protection"] | {field: value}}

    attacker.run(task, names, plan=vanish)
    assert (
        "fedsec_secagg_mask" not in attacker.replies or not attacker.replies["fedsec_secagg_mask"]
    )
    assert attacker.reveals() == []
    others = ", ".join(n for n in sorted(names) if n != VICTIM)
    assert f"roster: {others} answered another request" in refusal(attacker, VICTIM)
    for site in names:
        if site != VICTIM:
            assert f"roster: {VICTIM} answered another request" in refusal(attacker, site)


def test_statistics_asked_of_other_columns_at_other_sites_are_refused(sites, attack):
    """The coordinator asked the victim for its real columns and the others for made-up ones
    (a site sums zeros for a column it lacks): the secure sum was the victim's own count, sum
    and log-sum per column. The requests differ, so no site shares its keys."""
    attack()  # fresh secure-aggregation sessions
    for site in sites.values():
        site.statistics_rounds, site.statistics_columns = set(), []
    real = sites[VICTIM].handle("fedsec_statistics", {"view": "native", "stage": "schema"})
    fake = [f"no_such_column_{i}" for i in range(len(real["numeric"]))]
    request = {"view": "native", "stage": "centres", "sampled": len(sites)}
    adverts = [
        site.handle(
            "fedsec_statistics", request | {"numeric": real["numeric"] if name == VICTIM else fake}
        )
        for name, site in sites.items()
    ]
    share = {"round": STATISTICS_ROUNDS["centres"], "roster": adverts}
    for site in sites.values():
        with pytest.raises(PlanRefused, match="answered another request than this organization"):
            site.handle("fedsec_secagg_share", share)


def test_telling_the_victim_it_masks_alone_gets_nothing(attack):
    """Attack (b): the victim is told it is the only participant (no pairwise masks), the others
    the full list; they used to reveal the victim's seed shares."""
    attacker, task, names = attack()
    found = attacker.run(
        task, names, participants=lambda site, all_: [VICTIM] if site == VICTIM else all_
    )
    assert not recovered(attacker, found)
    assert "(mask, round 1): participants: 1 organization(s)" in refusal(attacker, VICTIM)
    assert VICTIM not in attacker.replies["fedsec_secagg_mask"]  # no masked update left it
    assert not any(r["owner"] == VICTIM and r["kind"] == "seed" for r in attacker.reveals())


def test_forking_the_survivor_sets_gets_nothing(attack):
    """The victim masks with two peers only; each group of sites is told a different set of
    survivors so that, together, they would reveal the victim's seed and both peers' keys."""
    attacker, task, names = attack()
    v, a, b, c, d = VICTIM, *[n for n in names if n != VICTIM]
    views = {
        v: ([v, a, b], []),
        c: ([v, c, d], [a, b]),
        d: ([v, c, d], [a, b]),
        a: ([a, v, c], [b, d]),
        b: ([b, v, c], [a, d]),
    }
    found = attacker.run(
        task,
        names,
        participants=lambda site, all_: [v, a, b] if site == v else all_,
        survivors=lambda site, all_: tuple(sorted(x) for x in views[site]),
        confirmations=lambda site, signed: {s: signed[s] for s in views[site][0]},
    )
    assert not recovered(attacker, found)
    assert attacker.reveals() == []
    for site in names:
        assert "does not match the round this organization confirmed" in refusal(attacker, site)


def test_the_victim_told_other_survivors_than_the_rest_is_refused_by_all(attack):
    """Same parties for everyone, but the victim hears that ``d`` dropped out (and would reveal
    its key) while the others hear that ``d`` survived (and would reveal its seed)."""
    attacker, task, names = attack()
    d = names[-1]
    rest = [n for n in names if n != d]
    view = lambda site, all_: (rest, [d]) if site == VICTIM else (all_, [])  # noqa: E731
    attacker.run(
        task,
        names,
        survivors=view,
        confirmations=lambda site, signed: {s: signed[s] for s in view(site, names)[0]},
    )
    assert attacker.reveals() == []
    assert len(attacker.replies["fedsec_secagg_confirm"]) == len(names)  # everyone signed
    for site in names:
        assert "fedsec_secagg_reveal" in {t for (t, who) in attacker.refusals if who == site}
    assert "does not match the round" in refusal(attacker, VICTIM)


def test_an_honest_round_reveals_no_single_update(attack):
    attacker, task, names = attack()
    found = attacker.run(task, names)
    assert attacker.refusals == {}
    assert found is None  # the victim's seed, but none of its pairwise keys
    kinds = {(r["owner"], r["kind"]) for r in attacker.reveals()}
    assert kinds == {(n, "seed") for n in names}


@pytest.mark.parametrize(
    "relay, reason",
    [
        (lambda signed: {k: v for k, v in signed.items() if k != "cloud"}, "missing from"),
        (
            lambda signed: (
                signed
                | {
                    "cloud": signed["cloud"]
                    | {"signature": crypto.SigningKey.generate().sign(b"forged")}
                }
            ),
            "confirmation of cloud does not match",
        ),
        (
            lambda signed: signed | {"cloud": signed["cloud"] | {"threshold": 1}},
            "expected a whole number in [2, 255]",
        ),
        (
            lambda signed: signed | {"cloud": signed["office"]},
            "the entry of cloud was signed by office",
        ),
    ],
    ids=["missing", "forged", "lowered-threshold", "swapped"],
)
def test_a_missing_or_forged_confirmation_stops_every_reveal(attack, relay, reason):
    attacker, task, names = attack()
    found = attacker.run(task, names, confirmations=lambda site, signed: relay(signed))
    assert not recovered(attacker, found)
    assert attacker.reveals() == []
    for site in names:
        assert reason in refusal(attacker, site)


def test_no_party_is_ever_revealed_both_ways(attack):
    """Asking for a key share of a survivor, in the reveal request or in a second one after the
    honest reveal, is refused: each site reveals once, exactly what it confirmed."""
    attacker, task, names = attack()
    both = lambda site, all_: (all_, [VICTIM])  # noqa: E731
    attacker.run(task, names, survivors=both)
    assert {why for (t, _), why in attacker.refusals.items() if t == "fedsec_secagg_confirm"}
    assert attacker.reveals() == []

    attacker, task, names = attack()
    attacker.run(task, names)
    again = {"round": 1, "survivors": names[1:], "dropped": [names[0]], "confirmations": {}}
    for site in names[1:]:
        with pytest.raises(PlanRefused, match=r"\(reveal, round 1\): reveal out of order"):
            attacker.sites[site].handle("fedsec_secagg_reveal", again)
    assert not any(r["kind"] == "mask_key" for r in attacker.reveals())


def test_a_site_masks_one_update_per_round(attack):
    attacker, task, names = attack()
    attacker.run(task, names)
    with pytest.raises(PlanRefused, match="already sent a masked update for round 1"):
        attacker.sites[VICTIM].handle("fedsec_train", task)


def thresholds(attacker):
    return {s: r["threshold"] for s, r in attacker.replies["fedsec_secagg_share"].items()}


@pytest.mark.parametrize(
    "requested, policies, expected",
    [
        (None, {}, 3),  # a strict majority of 5
        (1, {}, 3),  # the plan cannot lower it
        (4, {}, 4),  # but may raise it
        (None, {"cloud": {"colluding_sites": 2}}, 4),  # 2t > 5 + 2: one site's wish binds all
    ],
)
def test_thresholds_come_from_the_sites_not_the_plan(attack, requested, policies, expected):
    attacker, task, names = attack(policies)
    plan = lambda site, p: p | {"protection": p["protection"] | {"threshold": requested}}  # noqa: E731
    attacker.run(task, names, plan=plan)
    assert thresholds(attacker) == dict.fromkeys(names, expected)
    assert attacker.refusals == {}


def test_a_site_refuses_a_sum_smaller_than_its_own_minimum(attack):
    attacker, task, names = attack({VICTIM: {"min_contributors": 6}})
    attacker.run(task, names)
    assert "requires at least 6 contributors" in refusal(attacker, VICTIM)
    assert VICTIM not in attacker.replies["fedsec_secagg_share"]

    attacker, task, names = attack({VICTIM: {"min_contributors": 5}})
    gone = names[-1]
    attacker.run(task, names, survivors=lambda site, all_: ([n for n in all_ if n != gone], [gone]))
    assert "(confirm, round 1): survivors: 4" in refusal(attacker, VICTIM)
    assert "at least 5 contributors" in refusal(attacker, VICTIM)
    assert attacker.reveals() == []


@pytest.mark.parametrize("colluding_sites, unmasked", [(0, True), (1, False)])
def test_one_colluding_site_needs_a_site_asking_to_withstand_it(attack, colluding_sites, unmasked):
    """The documented collusion bound is tight. With the default threshold (3 of 5), a
    coordinator and one colluding site split the honest sites into two groups told different
    survivor sets; the colluder signs both, and together they reveal the victim's seed and its
    key. One site asking to withstand a colluder (any site's wish binds the round: 4 of 5)
    leaves each group too small to confirm."""
    attacker, task, names = attack({"cloud": {"colluding_sites": colluding_sites}})
    colluder = names[-1]
    honest = [n for n in names if n not in (VICTIM, colluder)]
    first = sorted([VICTIM, honest[0], colluder])
    second = sorted([*honest[1:], colluder])
    groups = {n: first for n in first} | {n: second for n in second}

    def view(site, everyone):
        return groups[site], sorted(set(everyone) - set(groups[site]))

    def relay(site, signed):
        client = attacker.collude(colluder)  # it signs whatever each group saw
        client.survivors = groups[site]
        forged = client.signing.sign(client.statement(colluder, client.threshold))
        entry = {"signer": colluder, "threshold": client.threshold, "signature": forged}
        return {s: signed[s] for s in groups[site] if s in signed} | {colluder: entry}

    found = attacker.run(task, names, survivors=view, confirmations=relay)
    assert bool(recovered(attacker, found)) is unmasked
    if not unmasked:
        assert "at least 4 contributors" in refusal(attacker, VICTIM)

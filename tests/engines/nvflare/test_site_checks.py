"""What a site checks before it trains, against a coordinator under an attacker's control: a
global model built to read its rows out of the secure sum, a model its gate refused sent
again, and plans whose privacy accounting would not hold."""

from __future__ import annotations

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.secure import secure_total
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_checks import ModelRefused
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.site_secagg import SiteSecAgg
from fedsec.engines.nvflare.wire import params_from_wire, params_to_wire
from fedsec.fl.privacy.model_check import ModelCheckConfig
from fedsec.training.params import set_params
from tests.engines.nvflare.site_requests import DP, guarded_site, train_request
from tests.engines.nvflare.test_site_secagg import (  # noqa: F401 (fixtures)
    JOB,
    Direct,
    five,
    identities,
    make_sites,
)

pytestmark = pytest.mark.usefixtures("site_files_read_once")

#: Units of the crafted layer: about one per row of the five sites, so many bins hold one row.
BINS = 4096


def binning_trap(task: dict, rng: np.random.Generator) -> dict:
    """ "Robbing the Fed": one hidden layer whose units all look along one direction ``v``, with
    biases at quantiles of ``v . x`` (standardized features: about a standard normal's), no
    dropout, one full-batch step. The difference of neighbouring units' gradients, divided by
    that of their biases, is the row between them when one row falls there."""
    setup = dict(task["model"])
    setup["architecture"] = dict(setup["architecture"], hidden=[BINS], dropout=0.0)
    inputs, classes = setup["architecture"]["inputs"], len(setup["classes"])
    v = rng.normal(size=inputs)
    v /= np.linalg.norm(v)
    cuts = np.sort(rng.normal(scale=1.5, size=BINS))
    scale = 0.05
    params = [
        np.tile(scale * v, (BINS, 1)).astype(np.float32),
        (-scale * cuts).astype(np.float32),
        np.tile((rng.choice([-1.0, 1.0], classes) * 1e-2)[:, None], (1, BINS)).astype(np.float32),
        np.zeros(classes, np.float32),
    ]
    plan = dict(task["plan"], class_weights=None)
    plan["training"] = dict(
        plan["training"], local_steps=1, batch_size=8192, lr=1.0, momentum=0.0, weight_decay=0.0
    )
    plan["protection"] = dict(plan["protection"], weight_unit=1.0)
    return {"plan": plan, "model": setup, "params": params_to_wire(params)}


def first_round_trap(scenario, sites) -> dict:
    """The binning trap in the place of round 1 of an honest job's request to ``sites``."""
    seeding.deterministic_torch(threads=1)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings())
    coordinator = Coordinator(spec, Direct(sites), list(sites))
    _, setup, weights = coordinator.setup()
    plan = coordinator.plan(1, len(sites), weights)
    return binning_trap({"plan": plan, "model": setup}, np.random.default_rng(1))


class Relay:
    """The coordinator's side of secure aggregation, over real sites in memory."""

    timeout = 1.0

    def __init__(self, sites):
        self.sites, self.refusals = sites, {}

    def ask(self, task, data, targets, timeout, log=None):
        answers = {}
        for name in targets:
            try:
                answers[name] = self.sites[name].handle(task, data)
            except PlanRefused as error:
                self.refusals[name] = getattr(error, "detail", str(error))
        return answers

    def drop(self, site, why, log=None):
        self.refusals[site] = why


def rows_read(sites, trap) -> tuple[int, dict[str, str]]:
    """How many of the sites' distinct training rows the secure sum of ``trap`` gives back
    (to 1 % relative distance), and which sites refused."""
    relay = Relay(sites)
    replies = relay.ask("fedsec_train", trap, list(sites), 1.0)
    if not replies:
        return 0, relay.refusals
    width = sum(np.asarray(p).size for p in trap["params"])
    total, _ = secure_total(relay, 1, replies, width, None)
    inputs = trap["model"]["architecture"]["inputs"]
    weights = total[: BINS * inputs].reshape(BINS, inputs)
    biases = total[BINS * inputs : BINS * inputs + BINS]
    slab_w = np.vstack([weights[:-1] - weights[1:], weights[-1:]])
    slab_b = np.append(biases[:-1] - biases[1:], biases[-1])
    held = np.abs(slab_b) > 1e-3
    guesses = slab_w[held] / slab_b[held, None]
    setup = parse_setup(trap["model"])
    truth = np.unique(np.vstack([s.prepared(setup).x for s in sites.values()]), axis=0)
    found = set()
    for guess in guesses:
        distance = np.linalg.norm(truth - guess, axis=1)
        best = int(distance.argmin())
        if distance[best] < 0.01 * max(np.linalg.norm(truth[best]), 1e-9):
            found.add(best)
    return len(found), relay.refusals


def fresh_job(sites, identities):  # noqa: F811
    for name, site in sites.items():
        site.secure = SiteSecAgg(name, site.config.secure_aggregation, identities[name], JOB)
        site.last_round, site.evaluated, site.distrusted = 0, False, False


def test_a_crafted_model_reads_rows_out_of_the_secure_sum_unless_the_sites_check_it(
    five,  # noqa: F811
    identities,  # noqa: F811
):
    """Measured by an outside review on UNSW-NB15: 957 of 7,450 distinct rows of five sites
    from one secure sum, no site refusing. With [model_check] on (the default) every site
    refuses the model; off, the same sum gives rows back exactly."""
    sites = make_sites(five, identities)
    trap = first_round_trap(five[1], sites)

    fresh_job(sites, identities)
    read, refusals = rows_read(sites, trap)
    assert read == 0 and set(refusals) == set(sites)
    assert all("have weights parallel to another unit's" in why for why in refusals.values())

    unchecked = ModelCheckConfig(enabled=False)
    for site in sites.values():
        site.config = site.config.model_copy(update={"model_check": unchecked})
    fresh_job(sites, identities)
    read, refusals = rows_read(sites, trap)
    assert refusals == {}
    assert read >= 100  # the threat the check stands against: exact rows from a sum


def hidden_in_constant_columns(trap: dict, constant: np.ndarray, rng) -> dict:
    """The binning trap's units each given noise on columns that never vary (the federated
    statistics tell the coordinator which): their weights' angles fall below the check's
    0.99, while their pre-activations on any row stay those of the trap."""
    first = np.asarray(trap["params"][0], np.float64)
    noise = np.zeros_like(first)
    noise[:, constant] = rng.normal(size=(len(first), constant.sum()))
    noise *= 2 * np.linalg.norm(first[0]) / np.linalg.norm(noise, axis=1, keepdims=True)
    params = list(trap["params"])
    params[0] = (first + noise).astype(np.float32)
    return trap | {"params": params}


def test_a_trap_hidden_by_noise_on_constant_columns_is_refused_by_what_units_do(
    five,  # noqa: F811
    identities,  # noqa: F811
):
    """An outside measurement read 187 rows a round past a check of the weights' angles alone
    (|cos| 0.9 after noise on UNSW-NB15's 18 constant columns)."""
    from fedsec.fl.privacy.model_check import parallel_units

    sites = make_sites(five, identities)
    trap = first_round_trap(five[1], sites)
    rows = np.vstack([s.prepared(parse_setup(trap["model"])).x for s in sites.values()])
    constant = rows.std(axis=0) == 0
    assert constant.sum() >= 2, "the consortium's encoding has no constant columns to hide in"
    first = np.asarray(trap["params"][0], np.float64)
    central = np.quantile(rows @ first[0], np.linspace(0.2, 0.8, BINS))  # no unit fires for few
    trap["params"][1] = (-central).astype(np.float32)
    hidden = hidden_in_constant_columns(trap, constant, np.random.default_rng(2))
    assert parallel_units(np.asarray(hidden["params"][0], np.float64), 0.99) == 0
    fresh_job(sites, identities)
    read, refusals = rows_read(sites, hidden)
    assert read == 0 and set(refusals) == set(sites)
    assert all("order this site's rows as another unit does" in why for why in refusals.values())


def trap_weights(request: dict, public: np.ndarray, rng: np.random.Generator) -> list:
    """Trap weights (Boenisch et al.): the first layer's units random, each one's bias set so
    that it fires for one or two of ``public``'s rows (rows the attacker holds, encoded by
    the job's preprocessing), and so for about as few of a site's."""
    params = params_from_wire(request["params"], [p.shape for p in request["params"]], "model")
    weight = rng.normal(size=params[0].shape)
    params[0] = (weight / np.linalg.norm(weight, axis=1, keepdims=True)).astype(np.float32)
    tail = np.quantile(public @ params[0].T.astype(np.float64), 1 - 1.5 / len(public), axis=0)
    params[1] = (-tail).astype(np.float32)
    return params


def test_trap_weights_that_fire_for_a_few_rows_each_are_refused(consortium):
    data, scenario = consortium
    victim, other = scenario.org_names()[0], scenario.org_names()[-1]
    site, public = (
        Site(config_from_scenario(scenario, n, data, False), data) for n in (victim, other)
    )
    request, _ = train_request(site, consortium)
    setup = parse_setup(request["model"])
    rows = public.data(setup.view).train.features(setup.view).frame  # stand-ins for public rows
    trapped = trap_weights(
        request, setup.preprocessing.build().transform(rows), np.random.default_rng(0)
    )
    crafted = request | {"params": params_to_wire(trapped)}
    with pytest.raises(ModelRefused) as refused:
        site.handle("fedsec_train", crafted)
    assert "units of gated layer 1 fire for 1 to 9 of this site's" in refused.value.detail
    assert "units" not in str(refused.value)  # the coordinator hears no count of the rows
    assert site.last_round == 1  # the round is used up: no second question in it
    site.distrusted = False  # (the round's own refusal, apart from the job's)
    for resent in (crafted, request):
        with pytest.raises(PlanRefused, match="already answered round 1 of this job"):
            site.handle("fedsec_train", resent)
    nxt = request | {"plan": request["plan"] | {"round": 2, "rounds": 3}}
    assert "params" in site.handle("fedsec_train", nxt)  # the honest model of the next round


def test_a_model_the_gate_refused_uses_up_its_round(consortium):
    """A refusal cost no round: resending the refused model reached the gate's patience in one
    round, and the poisoned model became its reference and was trained on."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    sure = {"enabled": True, "warmup_rounds": 0, "action": "refuse", "confidence": 0.9}
    gate = config.gate.model_copy(update=sure)  # 90 %: the few validation rows of a test site
    site = Site(config.model_copy(update={"gate": gate}), data)
    request, _ = train_request(site, consortium)
    plan = request["plan"] | {"rounds": 5}
    first = site.handle("fedsec_train", request | {"plan": plan})
    trained = params_from_wire(first["params"], [p.shape for p in request["params"]], "update")
    second = request | {"plan": plan | {"round": 2}, "params": first["params"]}
    assert site.handle("fedsec_train", second)["gate"]["accepted"]  # the trained reference
    poisoned = [p.copy() for p in trained]
    poisoned[-1][:] = -50.0
    poisoned[-1][request["model"]["classes"].index("benign")] = 50.0
    bad = request | {"plan": plan | {"round": 3}, "params": params_to_wire(poisoned)}
    assert "refused" in site.handle("fedsec_train", bad)
    for _ in range(gate.patience + 1):
        with pytest.raises(PlanRefused, match="already answered round 3 of this job"):
            site.handle("fedsec_train", bad)
    assert site.last_round == 3 and site.gate.refused_in_a_row == 1


def test_dp_with_a_control_variate_or_proximal_term_is_refused_before_any_privacy_is_spent(
    consortium,
):
    site = guarded_site(consortium, max_epsilon=1.0)
    request, _ = train_request(site, consortium)
    private = request["plan"] | {"sample_dp": request["plan"]["sample_dp"] | DP}
    control = [np.zeros_like(p) for p in request["params"]]
    for changed in (
        {"plan": private, "control": control},
        {"plan": private | {"prox_mu": 1.0}},
    ):
        with pytest.raises(PlanRefused, match="cannot be combined with SCAFFOLD"):
            site.handle("fedsec_train", request | changed)
    assert site.ledger.history == [] and site.last_round == 0


def test_an_honest_model_passes_the_check_before_and_after_training(consortium):
    """The check's false refusals: none on the job's first model or on a trained one."""
    from fedsec.fl.privacy.model_check import check_model

    data, scenario = consortium
    site = Site(config_from_scenario(scenario, "plant", data, False), data)
    request, _ = train_request(site, consortium)
    ready = site.prepared(parse_setup(request["model"]))
    reply = site.handle("fedsec_train", request)
    for arrays in (request["params"], reply["params"]):
        set_params(ready.network, params_from_wire(arrays, [a.shape for a in arrays], "m"))
        assert check_model(ready.network, ready.x, ModelCheckConfig()) is None

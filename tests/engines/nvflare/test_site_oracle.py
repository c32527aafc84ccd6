"""A hostile coordinator asking a site's refusals about its rows (an outside audit's F2 and F5).

Whether ``[model_check]`` refuses a model depends on the site's training rows: 17 units made to
fire just at a candidate record fire for 1 to 9 rows when it is one of them. The audit read 8 of
8 memberships from refuse / accept at a site demanding DP-SGD (ε = 1), with plans without DP and
no DP step taken, one bit a round. And the final model's gate verdict was judged at the plan's
round count (the coordinator's) and sent unredacted.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from fedsec.engines.nvflare import site_checks as checks
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE, LedgerFile
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_checks import ModelRefused
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.engines.nvflare.wire import params_from_wire, params_to_wire
from fedsec.fl.privacy.model_check import ModelCheckConfig
from tests.engines.nvflare.site_requests import guarded_site, train_request
from tests.engines.nvflare.test_site_checks import trap_weights

pytestmark = pytest.mark.usefixtures("site_files_read_once")


def trapped(site: Site, consortium) -> tuple[dict, dict]:
    """An honest first-round request to ``site`` and the same request carrying trap weights
    (each first-layer unit firing for one or two rows): a model its check refuses."""
    data, scenario = consortium
    request, _ = train_request(site, consortium)
    setup = parse_setup(request["model"])
    other = Site(config_from_scenario(scenario, scenario.org_names()[-1], data, False), data)
    rows = other.data(setup.view).train.features(setup.view).frame
    public = setup.preprocessing.build().transform(rows)
    weights = trap_weights(request, public, np.random.default_rng(0))
    return request, request | {"params": params_to_wire(weights)}


def answer(site: Site, task: str, request: dict) -> str:
    try:
        site.handle(task, request)
    except PlanRefused as error:
        return f"{type(error).__name__}: {error}"
    return "answered"


def test_a_plan_refused_on_policy_tells_nothing_about_the_rows(consortium):
    """A site demanding DP-SGD answered a plan without DP with the model check first: the
    trap was refused by [model_check], an honest model by the DP floor, so that refuse /
    accept of units aimed at a candidate record said whether it was a training row."""
    data, scenario = consortium
    site = guarded_site(consortium, max_epsilon=1.0)
    honest, trap = trapped(site, consortium)
    plain = Site(config_from_scenario(scenario, "plant", data, False), data)
    with pytest.raises(ModelRefused):  # the trap is one the check refuses
        plain.handle("fedsec_train", trap)
    said = {answer(site, "fedsec_train", r) for r in (trap, honest, trap)}
    assert len(said) == 1, said  # the same refusal, whatever the model does on the rows
    (only,) = said
    assert "trains only with record-level DP" in only and "model_check" not in only
    assert not site.distrusted and site.dp_steps == 0 and site.ledger.history == []


def test_a_sums_request_refused_on_policy_tells_nothing_about_the_rows(consortium):
    """``fedsec_sums`` ran the model check before the model's own refusals: a classification
    model sent as sums was refused "sums no scale" when honest and by [model_check] when a
    trap, with no round used and nothing spent, so a coordinator probed without end."""
    site = guarded_site(consortium, max_epsilon=1.0)
    honest, trap = trapped(site, consortium)
    base = {"what": "scale", "round": 7, "secure": True, "sampled": 3, "threshold": None}
    said = {
        answer(site, "fedsec_sums", base | {"model": r["model"], "params": r["params"]})
        for r in (honest, trap, honest, trap)
    }
    assert said == {"PlanRefused: sums refused: a classification job sums no scale"}, said
    assert not site.distrusted


def test_after_one_model_check_refusal_the_site_answers_nothing_more_of_the_job(consortium):
    """One bit a job, not one a round: the refused round used up, the next honest round of
    the same job was trained."""
    data, scenario = consortium
    site = Site(config_from_scenario(scenario, "plant", data, False), data)
    honest, trap = trapped(site, consortium)
    assert answer(site, "fedsec_train", trap).startswith("ModelRefused")
    later = honest | {"plan": honest["plan"] | {"round": 2, "rounds": 3}}
    evaluation = {k: honest[k] for k in ("plan", "model", "params")} | {"target_fpr": 0.01}
    for task, request in (("fedsec_train", later), ("fedsec_evaluate", evaluation)):
        with pytest.raises(PlanRefused, match="answers no further task of this job: its "):
            site.handle(task, request)
    assert site.last_round == 1 and site.dp_steps == 0


def test_refusals_are_counted_across_jobs_and_stop_the_site_at_its_limit(consortium, tmp_path):
    """Each job is a new site process: without a count across jobs a coordinator asks one
    question a job, for as many jobs as it likes."""
    data, scenario = consortium
    ledger = tmp_path / LEDGER_FILE
    ledger.write_text('{"jobs": {"old-job@1": [[1.1, 0.01, 40]]}}')  # a file from before
    config = config_from_scenario(scenario, "plant", data, False)
    config = config.model_copy(update={"model_check": ModelCheckConfig(max_refusals=2)})

    def job(name: str) -> Site:
        return Site(config, data, job=name, ledger=ledger)

    for n in (1, 2):
        site = job(f"job-{n}")
        honest, trap = trapped(site, consortium)
        assert "params" in site.handle("fedsec_train", honest)  # below the limit: trains
        again = trap | {"plan": trap["plan"] | {"round": 2, "rounds": 2}}
        assert answer(site, "fedsec_train", again).startswith("ModelRefused")
        assert len(LedgerFile(ledger, "reader").read().model_check) == n
    recorded = LedgerFile(ledger, "reader").read()
    assert [r["job"].split("@")[0] for r in recorded.model_check] == ["job-1", "job-2"]
    assert list(recorded.jobs) == ["old-job@1"]  # the older section kept as it was

    third = job("job-3")
    for task, request in (("fedsec_train", honest), ("fedsec_statistics", {})):
        with pytest.raises(
            PlanRefused, match=r"takes part in no job: its \[model_check\] refused 2"
        ):
            third.handle(task, request)

    assert len(LedgerFile(ledger, "operator").reset_model_check()) == 2  # reviewed
    assert "params" in job("job-4").handle("fedsec_train", honest)


def test_the_final_model_is_judged_at_the_sites_own_round_and_redacted(consortium):
    """Evaluation judged at the plan's ``rounds + 1``: a coordinator sending rounds=1 put a
    poisoned final model inside the gate's warm-up (accepted, "warm-up round"), and the reply
    told the gate's scores, the reference's included, under secure aggregation too."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    sure = {"enabled": True, "warmup_rounds": 2, "action": "refuse", "confidence": 0.9}
    site = Site(config.model_copy(update={"gate": config.gate.model_copy(update=sure)}), data)
    request, _ = train_request(site, consortium)
    params = request["params"]
    for round_ in (1, 2, 3, 4):
        plan = request["plan"] | {"round": round_, "rounds": 4}
        params = site.handle("fedsec_train", request | {"plan": plan, "params": params})["params"]
    trained = params_from_wire(params, [np.shape(p) for p in request["params"]], "update")
    poisoned = [p.copy() for p in trained]
    poisoned[-1][:] = -50.0
    poisoned[-1][request["model"]["classes"].index("benign")] = 50.0
    secure = {"secure_aggregation": True}
    plan = request["plan"] | {"round": 1, "rounds": 1, "protection": secure}
    reply = site.handle(
        "fedsec_evaluate",
        {"plan": plan, "model": request["model"], "params": params_to_wire(poisoned)}
        | {"target_fpr": 0.01},
    )
    assert reply["gate"]["judged"] is True  # against the rounds this site trained, not warm-up
    assert reply["accepted"] is False
    gate = reply["gate"]
    assert gate["score"] is None and gate["reference"] is None and gate["fall_bound"] is None
    assert gate["reason"] == "refused by the site's acceptance gate"


def test_a_boosted_trees_model_is_judged_after_the_rounds_the_site_boosted(consortium, tmp_path):
    """The tree evaluation judged at the plan's rounds + 1 too: rounds=1 put the booster
    inside the warm-up of a gate with warmup_rounds 2."""
    pytest.importorskip("xgboost", reason="the trees extra is not installed")
    from fedsec.engines.loopback_tls import make_loopback_tls
    from tests.engines.nvflare.test_trees_job import run_job, sites_of

    data, scenario = consortium
    model = scenario.model.model_validate(scenario.model.model_dump() | {"kind": "xgboost"})
    trees = data, scenario.model_copy(update={"model": model})
    tls = make_loopback_tls(tmp_path)
    config = config_from_scenario(scenario, "plant", data, False)
    gate = config.gate.model_copy(update={"enabled": True, "warmup_rounds": 2})
    sites = sites_of(trees, tls, **{name: {"gate": gate} for name in scenario.org_names()})
    _, transport = run_job(trees, tls, sites)
    (request,) = [d for d in transport.sent if "target_fpr" in d]
    name = next(iter(sites))
    sites[name].evaluated = False  # as if the job's evaluation had not been answered
    claimed = request["plan"] | {"round": 1, "rounds": 1}  # "the job had one round"
    reply = sites[name].handle("fedsec_evaluate", request | {"plan": claimed})
    assert reply["gate"]["judged"] is True  # against the booster's earlier rounds, not warm-up
    assert sites[name].gate.measured is not None


def test_jobs_running_at_once_refuse_no_more_models_than_the_limit(consortium, tmp_path):
    """Each job read the count when its task started and recorded its refusal after the
    check: two jobs at once at ``max_refusals`` 1 both passed at 0 and both refused (two
    bits). The count is read again, the check run and the refusal recorded under one lock."""
    data, scenario = consortium
    ledger = tmp_path / LEDGER_FILE
    config = config_from_scenario(scenario, "plant", data, False)
    config = config.model_copy(update={"model_check": ModelCheckConfig(max_refusals=1)})
    sites = [Site(config, data, job=f"job-{n}", ledger=ledger) for n in (1, 2)]
    _, trap = trapped(sites[0], consortium)
    for site in sites:
        site.prepared(parse_setup(trap["model"]))  # rows read before the race
    started = threading.Barrier(2)
    trusted = checks.check_trusted

    def both_started(site: Site) -> None:
        trusted(site)  # each job's task starts below the limit
        started.wait(timeout=60)

    said: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checks, "check_trusted", both_started)
        threads = [
            threading.Thread(target=lambda s=s: said.append(answer(s, "fedsec_train", trap)))
            for s in sites
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert sorted(s.split(":")[0] for s in said) == ["ModelRefused", "PlanRefused"], said
    assert any("takes part in no job: its [model_check] refused 1" in s for s in said)
    assert len(LedgerFile(ledger, "reader").read().model_check) == 1


def test_a_job_restarted_under_its_id_after_a_refusal_is_answered_no_more(consortium, tmp_path):
    """``distrusted`` lived in the job's process only: an executor restarted, or the job
    resumed under the same id, answered the coordinator again (the ledger's key for the
    job has a new random part each time)."""
    data, scenario = consortium
    ledger = tmp_path / LEDGER_FILE
    config = config_from_scenario(scenario, "plant", data, False)
    first = Site(config, data, job="job-1", ledger=ledger)
    honest, trap = trapped(first, consortium)
    assert answer(first, "fedsec_train", trap).startswith("ModelRefused")
    again = Site(config, data, job="job-1", ledger=ledger)
    with pytest.raises(PlanRefused, match="answers no task of job 'job-1': its"):
        again.handle("fedsec_train", honest)
    other = Site(config, data, job="job-2", ledger=ledger)  # below max_refusals 3: trains
    assert "params" in other.handle("fedsec_train", honest)

"""Logs jobs (DeepLog) through the deployment's protocol: three HDFS organizations, each with
its own session files, over an in-memory transport. The deployed model must be the in-process
federated arm's (same vocabulary, same weights); a curious coordinator must learn no site's
token set under secure aggregation, nor the hashing key ever. (``fedsec job submit`` of a logs
job through real NVFlare processes: test_deployment_submit.py.)"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest

from fedsec.core import seeding
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.replies import RATE_DECIMALS
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import GateConfig, config_from_scenario
from fedsec.engines.nvflare.site_notes import PUBLIC_HASH_KEY
from fedsec.engines.nvflare.vocabulary import TASK as VOCABULARY
from fedsec.experiments.deployed import deployed_model
from fedsec.features.vocabulary import known_tokens
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.logs import build_log_federation
from fedsec.tasks.federate import curve_rounds
from fedsec.tasks.logs.arms import org_known, train_federated
from fedsec.tasks.logs.experiment import calibrate
from fedsec.training.params import max_abs_diff
from tests.engines.nvflare.logs_consortium import KEY
from tests.engines.nvflare.memory import Crash, Memory, Recording, crash_after
from tests.engines.nvflare.variants import scenario_with_privacy

pytestmark = pytest.mark.usefixtures("site_files_read_once")

ORGS = ("org1", "org2", "org3")


def sites_of(consortium, scenario: Scenario, require: bool) -> dict[str, Site]:
    data, _ = consortium
    return {n: Site(config_from_scenario(scenario, n, data, require), data) for n in ORGS}


def deploy(consortium, transport=Memory, scenario=None, **privacy):
    scenario = scenario_with_privacy(scenario or consortium[1], **privacy)
    seeding.deterministic_torch(threads=1)
    sites = sites_of(consortium, scenario, scenario.privacy.secure_aggregation)
    curve = sorted(curve_rounds(scenario))
    spec = JobSpec.from_scenario(scenario, curve, DeploymentSettings(site_order=list(ORGS)))
    link = transport(sites)
    return scenario, Coordinator(spec, link, list(ORGS)).run(), link


def in_process(consortium, scenario: Scenario):
    data, _ = consortium
    seeding.deterministic_torch(threads=1)
    federation = build_log_federation(scenario, data)
    arm = train_federated(scenario, federation, lambda _: None)
    return federation, next(iter(arm.models.values())), arm


@pytest.mark.parametrize("privacy", [{}, {"secure_aggregation": True}], ids=["clear", "secagg"])
def test_the_deployed_logs_model_is_the_in_process_one(logs_consortium, privacy):
    """Same vocabulary (the union of the sites' token sets) and the same weights, bit for bit;
    each site chooses top_k on its own validation sessions within the false-positive target,
    as the in-process calibration does for the same model."""
    scenario, result, _ = deploy(logs_consortium, **privacy)
    assert result.error is None and not result.dropouts, result.error
    federation, reference, _ = in_process(logs_consortium, scenario)
    assert result.setup["index"] == reference.known.tolist()
    assert max_abs_diff(result.params, reference.get_weights()) == 0.0
    if not privacy:
        losses = {h.round: round(h.loss, 6) for h in result.history}
        assert losses and all(h.contributed for h in result.history)
    deployed = deployed_model(result, scenario)
    scores = {o.name: deployed.decision_function(o.val.tokens) for o in federation.orgs}
    for org in federation.orgs:
        reply = result.evaluation[org.name]
        top_k = reply["validation"]["threshold"]
        flagged_val = float(np.mean(scores[org.name] >= top_k))
        told = round(flagged_val, RATE_DECIMALS if privacy else 6)  # coarse without counts
        assert reply["validation"]["benign_fpr"] == told
        assert reply["validation"]["benign_fpr"] <= scenario.evaluation.target_fpr or (
            top_k == deployed.unseen_rank
        )
        flagged = deployed.decision_function(org.test.tokens) >= top_k
        if privacy:  # a site requiring secure aggregation tells no exact counts
            assert "tp" not in reply["test"] and "sessions" not in reply["validation"]
            continue
        assert reply["test"]["tp"] == int((flagged & (org.test.labels == 1)).sum())
        assert reply["test"]["fp"] == int((flagged & (org.test.labels == 0)).sum())
    statistics = result.statistics
    assert statistics["events"] == len(reference.known)
    assert statistics["rows"] == sum(len(o.train.tokens) + sum(map(len, o.train.tokens))
                                     for o in federation.orgs)  # fmt: skip


def test_under_secure_aggregation_the_coordinator_learns_no_sites_token_set(logs_consortium):
    """Each site's vocabulary reaches a curious coordinator only as a masked vector inside a
    secure sum (it learns, per token, how many sites hold it); every update is masked too; the
    union, and so the model, is the one in clear."""
    scenario, result, link = deploy(logs_consortium, Recording, secure_aggregation=True)
    assert result.error is None and not result.dropouts, result.error
    assert all(set(r) == {"advertisement", "endorsement"} for r in link.replies[VOCABULARY])
    assert len(link.replies[VOCABULARY]) == len(ORGS)
    assert all(  # and no loss: with a crafted model it told a record's membership
        set(r) == {"gate", "advertisement", "endorsement"} for r in link.replies["fedsec_train"]
    )
    federation, _, _ = in_process(logs_consortium, scenario)
    own = {o.name: org_known(o) for o in federation.orgs}
    assert any(len(t) < len(known_tokens(own.values())) for t in own.values())  # sets differ
    assert result.setup["index"] == known_tokens(own.values()).tolist()
    assert "rows_per_site" not in result.statistics


def test_the_hashing_key_and_template_text_never_reach_the_coordinator(logs_consortium):
    """Not in the job, not in any task the coordinator sends, not in any reply it receives:
    sites send token ids, never the key or an event's text."""
    _, result, link = deploy(logs_consortium, Recording)
    assert result.error is None, result.error
    seen = pickle.dumps((link.sent, link.replies, result.setup, result.statistics))
    assert KEY.encode() not in seen
    assert b"Receiving block" not in seen and b"receiving block" not in seen
    spec = JobSpec.from_scenario(logs_consortium[1], [], DeploymentSettings())
    assert KEY not in spec.model_dump_json()


def test_a_site_requiring_secure_aggregation_refuses_its_vocabulary_in_clear(logs_consortium):
    _, scenario = logs_consortium
    sites = sites_of(logs_consortium, scenario, True)
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=list(ORGS)))
    result = Coordinator(spec, Memory(sites), list(ORGS)).run()
    assert result.params is None
    assert set(result.dropouts) == set(ORGS)
    assert all("only sends its vocabulary under secure aggregation" in why
               for why in result.dropouts.values())  # fmt: skip


def test_a_site_sums_its_vocabulary_once_and_only_in_its_own_hashing_space(logs_consortium):
    """A second secure sum over other sites would expose the difference of the two unions; a
    job hashing into another space would get tokens that mean nothing."""
    data, scenario = logs_consortium
    site = Site(config_from_scenario(scenario, "org1", data, True), data)
    request = {"buckets": 4096, "end_token": True, "secure": True, "sampled": 3}
    site.handle(VOCABULARY, request)
    with pytest.raises(PlanRefused, match="the vocabulary was already summed in this job"):
        site.handle(VOCABULARY, request)
    with pytest.raises(PlanRefused, match="hashes events into 1024 buckets, this site into 4096"):
        site.handle(VOCABULARY, request | {"buckets": 1024})
    with pytest.raises(PlanRefused, match="hash_key: Extra inputs are not permitted"):
        site.handle(VOCABULARY, request | {"hash_key": "guess"})


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (PUBLIC_HASH_KEY, "'fedsec-logs' is printed in fedsec's code or docs"),
        ("our-consortium-secret", "is printed in fedsec's code or docs"),  # the docs' example
        ("x7", "2 characters are few enough to try them all"),
    ],
)
def test_a_site_with_a_guessable_hashing_key_refuses_logs_jobs_unless_it_opted_in(
    logs_consortium, key, why
):
    """With a key the coordinator can guess it hashes known templates and reads the tokens;
    a site that did not set the consortium's secret takes no part, and says why."""
    data, scenario = logs_consortium
    guessable = scenario.model_copy(
        update={"logs": scenario.logs.model_copy(update={"hash_key": key})}
    )
    config = config_from_scenario(guessable, "org1", data, True)
    request = {"buckets": 4096, "end_token": True, "secure": True, "sampled": 3}
    with pytest.raises(PlanRefused, match=rf"site org1 refuses logs jobs: .*{re.escape(why)}"):
        Site(config, data).handle(VOCABULARY, request)
    logs = config.logs.model_copy(update={"public_hash_key": True})
    opted_in = Site(config.model_copy(update={"logs": logs}), data)
    assert "advertisement" in opted_in.handle(VOCABULARY, request)  # it takes part


def test_a_site_with_a_classifier_gate_refuses_logs_training(logs_consortium):
    data, scenario = logs_consortium
    gated = GateConfig(enabled=True)
    sites = {
        n: Site(config_from_scenario(scenario, n, data, False).model_copy(update={"gate": gated}),
                data)
        for n in ORGS
    }  # fmt: skip
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings(site_order=list(ORGS)))
    result = Coordinator(spec, Memory(sites), list(ORGS)).run()
    assert result.params is None
    assert all("acceptance gate judges classifiers" in why for why in result.dropouts.values())


@pytest.mark.parametrize("privacy", [{}, {"secure_aggregation": True}], ids=["clear", "secagg"])
def test_a_pooled_top_k_is_the_in_process_one(logs_consortium, privacy):
    """``logs.calibration = "pooled"``: one top_k from the sum of the sites' validation score
    histograms (a secure sum under secure aggregation), the one the in-process calibration
    chooses from the pooled scores; every site evaluates with it."""
    pooled = logs_consortium[1].model_copy(deep=True)
    pooled.logs.calibration = "pooled"
    scenario, result, link = deploy(logs_consortium, Recording, pooled, **privacy)
    assert result.error is None and not result.dropouts, result.error
    federation, reference, _ = in_process(logs_consortium, scenario)
    models = dict.fromkeys(ORGS, reference)
    val_fpr = calibrate(models, federation)
    assert result.setup["top_k"] == reference.top_k_["*"]
    for org in ORGS:
        validation = result.evaluation[org]["validation"]
        assert validation["threshold"] == reference.top_k_[org] == reference.top_k_["*"]
        told = round(val_fpr[org], RATE_DECIMALS) if privacy else val_fpr[org]
        assert validation["benign_fpr"] == told  # coarse where counts are withheld
    form = {"advertisement", "endorsement"} if privacy else {"sums"}
    assert [set(r) for r in link.replies["fedsec_sums"]] == [form] * len(ORGS)


def test_the_pooled_score_histogram_is_summed_once_per_job(logs_consortium):
    """What the coordinator learns of the sites' validation scores is one summed histogram: a
    site answers the scores' secure sum once per job, so a coordinator cannot ask again with
    another set of sites (whose difference would be one site's own histogram)."""
    pooled = logs_consortium[1].model_copy(deep=True)
    pooled.logs.calibration = "pooled"
    _, result, link = deploy(logs_consortium, Recording, pooled, secure_aggregation=True)
    assert result.error is None and not result.dropouts, result.error
    (asked,) = [data for data in link.sent if data.get("what") == "scores"]
    for site in link.sites.values():
        with pytest.raises(PlanRefused, match="the scores was already summed in this job"):
            site.handle("fedsec_sums", asked | {"sampled": 2})


@pytest.mark.parametrize("calibration", ["per-org", "pooled"])
def test_a_max_surprise_job_flags_with_the_in_process_thresholds(
    logs_consortium, tmp_path, calibration
):
    """``logs.score = "max-surprise"``: each site's threshold on its own validation sessions,
    or one from the summed histograms of their scores, is the in-process calibration's; the
    sites' test decisions and the run directory's bundle follow it."""
    from fedsec.bundles.logs_bundle import load_log_bundle
    from fedsec.experiments.deployed import write_site_only_run

    variant = logs_consortium[1].model_copy(deep=True)
    variant.logs.score, variant.logs.calibration = "max-surprise", calibration
    scenario, result, _ = deploy(logs_consortium, scenario=variant)
    assert result.error is None and not result.dropouts, result.error
    federation, reference, _ = in_process(logs_consortium, scenario)
    assert max_abs_diff(result.params, reference.get_weights()) == 0.0
    val_fpr = calibrate(dict.fromkeys(ORGS, reference), federation)
    assert result.setup.get("threshold") == (
        reference.thresholds_["*"] if calibration == "pooled" else None
    )
    for org in federation.orgs:
        reply = result.evaluation[org.name]
        threshold = reply["validation"]["threshold"]
        assert threshold == reference.thresholds_[org.name] and 0 < threshold <= 1
        assert reply["validation"]["benign_fpr"] == val_fpr[org.name]
        assert calibration == "pooled" or val_fpr[org.name] <= scenario.evaluation.target_fpr
        flagged = reference.decision_function(org.test.tokens) > threshold
        assert reply["test"]["tp"] == int((flagged & (org.test.labels == 1)).sum())
        assert reply["test"]["fp"] == int((flagged & (org.test.labels == 0)).sum())
    sizes = {org.name: len(org.val.tokens) for org in federation.orgs}
    flagged_val = sum(round(val_fpr[name] * n) for name, n in sizes.items())
    assert flagged_val <= scenario.evaluation.target_fpr * sum(sizes.values())
    run = write_site_only_run(scenario, result, "job-1", tmp_path / "run")
    model, manifest = load_log_bundle(run / "model")
    assert manifest["score"] == "max-surprise" and not model.top_k_
    reported = {site: reply["validation"]["threshold"] for site, reply in result.evaluation.items()}
    assert model.thresholds_ == reported


def test_the_run_directory_of_a_logs_job_has_the_in_process_federated_arm(
    logs_consortium, tmp_path
):
    """With the data at hand, the deployed model is evaluated as ``fedsec simulate`` evaluates
    its federated arm: the same metrics, loss curve included; without it, the run directory
    holds the DeepLog bundle with each site's own top_k and what each site measured."""
    from fedsec.bundles.logs_bundle import load_log_bundle
    from fedsec.experiments.deployed import run_deployed, write_site_only_run
    from fedsec.experiments.driver import run_experiment

    data, _ = logs_consortium
    scenario, result, _ = deploy(logs_consortium)
    deployed = run_deployed(scenario, data, result, "job-1").metrics
    seeding.deterministic_torch(threads=1)
    reference = run_experiment(scenario, data).metrics
    assert deployed["arms"]["federated"] == reference["arms"]["federated"]
    assert deployed["arms"]["federated"]["curve"] and deployed["deployment"]["task"] == "logs"
    run = write_site_only_run(scenario, result, "job-1", tmp_path / "run")
    model, manifest = load_log_bundle(run / "model")
    assert max_abs_diff(model.get_weights(), result.params) == 0.0
    assert model.top_k_ == {
        site: reply["validation"]["threshold"] for site, reply in result.evaluation.items()
    }
    assert manifest["namespaces"] == {o: o for o in ORGS}
    report = (run / "report.md").read_text()
    assert "test F1" in report and "hashed event token" in report


def test_a_logs_job_resumed_from_its_checkpoint_ends_with_the_uninterrupted_model(
    logs_consortium, tmp_path
):
    """The checkpoint keeps the vocabulary (the setup's index): the resumed job asks no site
    for its tokens again and ends with the uninterrupted job's weights and evaluation."""
    from fedsec.engines.nvflare.checkpoint_store import CheckpointStore

    _, scenario = logs_consortium
    scenario = scenario.model_copy(update={"rounds": 4})

    def job(on_round=None):
        seeding.deterministic_torch(threads=1)
        sites = sites_of(logs_consortium, scenario, False)
        spec = JobSpec.from_scenario(scenario, [2], DeploymentSettings(site_order=list(ORGS)))
        link = Recording(sites)
        return spec, Coordinator(spec, link, list(ORGS), on_round=on_round), link

    spec, whole, _ = job()
    uninterrupted = whole.run()
    store = CheckpointStore(tmp_path, "job-a", spec)

    with pytest.raises(Crash):
        job(crash_after(store, 2))[1].run()
    _, second, link = job()
    result = second.run(store.latest())
    assert result.error is None, result.error
    assert VOCABULARY not in link.replies
    assert [h.round for h in result.history] == [1, 2, 3, 4]
    assert result.setup["index"] == uninterrupted.setup["index"]
    assert max_abs_diff(result.params, uninterrupted.params) == 0.0
    assert result.evaluation == uninterrupted.evaluation


def test_a_sites_logs_config_round_trips_and_a_site_without_data_is_refused(
    logs_consortium, tmp_path
):
    """The [logs] section a site writes (absolute paths, its own key) reads back the same; a
    config with neither flow files nor logs names what is missing; a site without logs
    refuses a logs job naming its config."""
    from fedsec.core.errors import ConfigError
    from fedsec.engines.nvflare.site_config import (
        SiteConfig,
        load_site_config,
        write_site_config,
    )

    data, scenario = logs_consortium
    config = config_from_scenario(scenario, "org2", data, True)
    assert config.sources == [] and config.logs.hash_key == KEY
    assert all(p.startswith(str(data)) for s in config.logs.sources for p in s.paths)
    path = write_site_config(config, tmp_path / "fedsec_site.toml")
    assert load_site_config(path) == config
    with pytest.raises(ValueError, match=r"a site holds flow files \(\[\[sources\]\]\) or logs"):
        SiteConfig(name="org2")
    flows_only = Site(config.model_copy(update={"logs": None}), data)
    request = {"buckets": 4096, "end_token": True}
    with pytest.raises(ConfigError, match=r"site org2 holds no log sessions \(\[logs\]"):
        flows_only.handle(VOCABULARY, request)

import pytest

from fedsec.core import seeding
from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.plan import (
    DeploymentSettings,
    JobSpec,
    PlanRefused,
    SitePlan,
    parse,
)
from fedsec.scenarios.config import ClientDpConfig, TrainingConfig
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.federate import plan as inprocess_plan


def site_plan(**changes) -> dict:
    plan = {
        "round": 2,
        "rounds": 5,
        "seed": 7,
        "sampled": 3,
        "training": TrainingConfig().model_dump(mode="json"),
        "prox_mu": 0.0,
        "class_weights": [1.0, 2.0],
        "sample_dp": {},
        "protection": None,
    }
    return plan | changes


def test_unknown_field_is_refused_naming_it():
    with pytest.raises(PlanRefused, match=r"training plan refused: surprise: Extra inputs"):
        parse(SitePlan, site_plan(surprise=1), "training plan")
    training = TrainingConfig().model_dump(mode="json") | {"command": "rm -rf /"}
    with pytest.raises(PlanRefused, match=r"training\.command: Extra inputs are not permitted"):
        parse(SitePlan, site_plan(training=training), "training plan")


def test_out_of_range_fields_are_refused():
    training = TrainingConfig().model_dump(mode="json") | {"momentum": 1.5}
    with pytest.raises(PlanRefused, match=r"training\.momentum"):
        parse(SitePlan, site_plan(training=training), "training plan")
    with pytest.raises(PlanRefused, match="beyond the job's 5 rounds"):
        parse(SitePlan, site_plan(round=6), "training plan")
    with pytest.raises(PlanRefused, match="class_weights"):
        parse(SitePlan, site_plan(class_weights=[0.0, 1.0]), "training plan")
    with pytest.raises(PlanRefused, match="expected a table"):
        parse(SitePlan, ["round", 1], "training plan")
    for seed in (-1, 2**32):  # a run seed's range, the scenario's (seeding.check_seed)
        with pytest.raises(PlanRefused, match=f"seed: .*seed {seed} is out of range"):
            parse(SitePlan, site_plan(seed=seed), "training plan")


def test_site_plan_is_the_in_process_engines_plan(consortium):
    _, scenario = consortium
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings())
    plan = SitePlan(
        round=2,
        rounds=scenario.rounds,
        seed=scenario.seed,
        sampled=3,
        training=spec.training,
        class_weights=[1.0, 3.0],
        sample_dp=scenario.privacy.sample_dp,
    )
    seed = seeding.derive_seed(scenario.seed, "federated", "plant", 2)
    expected = inprocess_plan(scenario, (1.0, 3.0), 1, 0.0, seed)
    assert plan.to_training_plan("plant", rows=500) == expected


def test_job_spec_takes_scaffold_but_not_with_client_dp(consortium):
    """SCAFFOLD deploys; its control-variate changes cannot be clipped and noised, so a job
    spec that pairs it with client-level DP is refused (also when not made from a scenario)."""
    _, scenario = consortium
    scaffold = scenario.model_copy(
        update={"strategy": scenario.strategy.model_copy(update={"name": "scaffold"})}
    )
    spec = JobSpec.from_scenario(scaffold, [], DeploymentSettings())
    raw = spec.model_dump(mode="json")
    raw["privacy"]["client_dp"] = {"noise_multiplier": 1.0}
    with pytest.raises(ValueError, match="client_dp cannot be combined with strategy 'scaffold'"):
        JobSpec.model_validate(raw)


@pytest.mark.parametrize("lr", [1.5, 1e6])
def test_a_learning_rate_above_the_bound_is_refused(lr):
    training = TrainingConfig().model_dump(mode="json") | {"lr": lr}
    with pytest.raises(PlanRefused, match=r"training\.lr: Input should be less than or equal to 1"):
        parse(SitePlan, site_plan(training=training), "training plan")
    parse(SitePlan, site_plan(training=training | {"lr": 1.0}), "training plan")


def test_a_logs_job_carries_the_model_and_calibration_but_no_key_and_no_source():
    scenario = load_scenario("hdfs-5org", ["logs.hash_key=consortium-secret"])
    spec = JobSpec.from_scenario(scenario, [], DeploymentSettings())
    assert (spec.task, spec.view, spec.logs.calibration) == ("logs", "sessions", "pooled")
    assert spec.logs.hash_buckets == scenario.logs.hash_buckets
    text = spec.model_dump_json()
    assert "consortium-secret" not in text and "hdfs_train" not in text


@pytest.mark.parametrize(
    "overrides, why",
    [
        (["privacy.homomorphic_encryption=true"], "encryption is not available to logs jobs"),
        (
            ["privacy.client_dp.noise_multiplier=1.0"],
            "client_dp in a logs job needs privacy.secure_aggregation",
        ),
        (
            ["privacy.secure_aggregation=true", "logs.hash_buckets=8388608"],
            "too large for a secure union",
        ),
    ],
)
def test_a_logs_job_the_deployment_cannot_protect_is_refused(overrides, why):
    scenario = load_scenario("hdfs-5org", overrides)
    with pytest.raises(ValueError, match=why):
        JobSpec.from_scenario(scenario, [], DeploymentSettings())


@pytest.mark.parametrize(
    "overrides, why",
    [
        (["logs.score=mean-log-rank"], 'logs.score = "mean-log-rank" runs in-process only'),
        (["logs.score=quantile-log-rank"], '"quantile-log-rank" runs in-process only'),
        (["logs.trace_window=200"], "logs.trace_window runs in-process only"),
    ],
)
def test_a_logs_job_with_a_whole_sequence_score_or_windows_is_refused(overrides, why):
    """Before, the job dropped the score and the windows and trained max-rank DeepLog on whole
    sessions: a deployed run did not do what its scenario said."""
    with pytest.raises(ConfigError, match=why):
        JobSpec.from_scenario(load_scenario("hdfs-5org", overrides), [], DeploymentSettings())


def test_a_logs_job_carries_its_session_score():
    scenario = load_scenario("hdfs-5org", ["logs.score=max-surprise"])
    assert JobSpec.from_scenario(scenario, [], DeploymentSettings()).logs.score == "max-surprise"


def test_a_logs_job_under_secure_aggregation_hashes_into_a_space_a_secure_sum_takes():
    overrides = ["privacy.secure_aggregation=true"]
    spec = JobSpec.from_scenario(load_scenario("hdfs-5org", overrides), [], DeploymentSettings())
    assert spec.privacy.secure_aggregation and spec.logs.hash_buckets == 1 << 20


def test_an_anomaly_job_trains_one_of_the_scenarios_detectors():
    scenario = load_scenario("unsw-5org-anomaly")
    first = JobSpec.from_scenario(scenario, [], DeploymentSettings())
    assert (first.task, first.detector) == ("anomaly", scenario.anomaly.models[0])
    svdd = JobSpec.from_scenario(scenario, [], DeploymentSettings(), detector="svdd")
    assert svdd.detector == "svdd" and svdd.anomaly == scenario.anomaly
    only_ae = scenario.model_copy(
        update={"anomaly": scenario.anomaly.model_copy(update={"models": ["ae"]})}
    )
    with pytest.raises(ConfigError, match=r"trains \['ae'\], not 'svdd'"):
        JobSpec.from_scenario(only_ae, [], DeploymentSettings(), detector="svdd")
    he = scenario.privacy.model_copy(update={"homomorphic_encryption": True})
    with pytest.raises(ValueError, match="homomorphic_encryption is not available to anomaly"):
        JobSpec.from_scenario(scenario.model_copy(update={"privacy": he}), [], DeploymentSettings())
    noised = ClientDpConfig(noise_multiplier=0.5)
    client_dp = scenario.privacy.model_copy(update={"client_dp": noised})
    clear = scenario.model_copy(update={"privacy": client_dp})
    with pytest.raises(ValueError, match=r"client_dp in an anomaly job needs privacy\.secure_agg"):
        JobSpec.from_scenario(clear, [], DeploymentSettings())
    masked = client_dp.model_copy(update={"secure_aggregation": True})
    JobSpec.from_scenario(scenario.model_copy(update={"privacy": masked}), [], DeploymentSettings())


@pytest.mark.parametrize(
    ("setting", "why"),
    [
        ("privacy.sample_dp.stats_epsilon_share=0.1", r"stats_epsilon_share: .* simulation only"),
        ("privacy.sample_dp.class_sampling=true", r"class_sampling runs in simulation only"),
    ],
)
def test_a_deployment_refuses_dp_options_its_sites_do_not_honour(setting, why):
    scenario = load_scenario("unsw-5org-disjoint", ["privacy.sample_dp.epsilon=3", setting])
    with pytest.raises(ValueError, match=why):
        JobSpec.from_scenario(scenario, [], DeploymentSettings())


def test_noise_shares_travel_only_with_a_named_rate_and_a_hidden_sum(consortium):
    """A share is less noise than a site's own: a plan (or job) asking for shares must name
    the federation-wide rate and hide single updates (secure aggregation or HE)."""
    shares = {"epsilon": 1.0, "noise_shares": 3}
    secure = {"secure_aggregation": True}
    with pytest.raises(PlanRefused, match=r"noise_shares in a deployment needs .*sample_rate"):
        parse(SitePlan, site_plan(sample_dp=shares, protection=secure), "training plan")
    named = shares | {"sample_rate": 0.05}
    with pytest.raises(PlanRefused, match="noise_shares needs secure aggregation"):
        parse(SitePlan, site_plan(sample_dp=named), "training plan")
    parse(SitePlan, site_plan(sample_dp=named, protection=secure), "training plan")
    _, scenario = consortium
    raw = JobSpec.from_scenario(scenario, [], DeploymentSettings()).model_dump(mode="json")
    raw["privacy"]["sample_dp"] = shares
    raw["privacy"]["secure_aggregation"] = True
    with pytest.raises(ValueError, match=r"needs privacy\.sample_dp\.sample_rate"):
        JobSpec.model_validate(raw)
    raw["privacy"]["sample_dp"] = named
    JobSpec.model_validate(raw)


def test_a_logit_adjusted_job_reaches_the_site_as_the_in_process_plan(consortium):
    """The coordinator's plan says when class weights are logit offsets, so a deployed site
    trains the loss the scenario names."""
    _, scenario = consortium
    model = scenario.model.model_copy(update={"class_weighting": "logit_adjusted"})
    scenario = scenario.model_copy(update={"model": model})
    coordinator = Coordinator(JobSpec.from_scenario(scenario, [], DeploymentSettings()), None, [])
    plan = parse(SitePlan, coordinator.plan(2, 3, (1.0, 3.0)), "training plan")
    seed = seeding.derive_seed(scenario.seed, "federated", "plant", 2)
    expected = inprocess_plan(scenario, (1.0, 3.0), 1, 0.0, seed)
    assert plan.logit_adjusted and expected.logit_adjusted
    assert plan.to_training_plan("plant", rows=500) == expected

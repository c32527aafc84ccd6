"""Privacy mechanisms end to end on a real slice: secure aggregation, DP-SGD, the audit."""

import numpy as np
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import ConfigError
from fedsec.experiments.driver import run_experiment
from fedsec.reporting.report import privacy_lines
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario
from fedsec.tasks.privacy import attack_strength, coordinator_view, privacy_section
from fedsec.training.params import max_abs_diff

SMALL = [
    "data.max_rows=8000",
    "rounds=8",
    "evaluation.curve_points=2",
    "evaluation.arms=['federated']",
]


@pytest.fixture(scope="module")
def federation(data_dir):
    return build_federation(load_scenario("unsw-5org-disjoint", SMALL), data_dir)


_RUNS: dict[tuple[str, ...], object] = {}


@pytest.fixture(scope="module", autouse=True)
def _forget_runs():
    yield
    _RUNS.clear()


def _run(data_dir, federation, *extra):
    """The run of SMALL + ``extra`` on the module's federation, trained once per module: the
    same settings give the same run (seeded; tests/tasks/classification/test_experiment.py
    checks that), and the tests below only read it."""
    if extra not in _RUNS:
        scenario = load_scenario("unsw-5org-disjoint", [*SMALL, *extra])
        _RUNS[extra] = run_experiment(scenario, data_dir, federation=federation)
    return _RUNS[extra]


def test_secure_aggregation_changes_the_model_by_fixed_point_rounding_only(data_dir, federation):
    plain = _run(data_dir, federation)
    secure = _run(data_dir, federation, "privacy.secure_aggregation=true")
    first = [
        plain.arms["federated"].models["org1"].get_weights(),
        secure.arms["federated"].models["org1"].get_weights(),
    ]
    assert 0 < max_abs_diff(*first) < 1e-2  # 8 rounds of 2^-16 rounding, amplified by SGD
    protected = secure.arms["federated"].protection_seconds
    assert len(protected) == 8 and secure.timing["secure_aggregation_s"] == round(sum(protected), 3)
    assert 0 < secure.timing["secure_aggregation_s"] < secure.timing["arms_s"]["federated"]
    section = secure.metrics["privacy"]["secure_aggregation"]
    assert section["enabled"] and section["threshold"] == 3 and section["tolerated_dropouts"] == 2
    assert any(
        "masked updates only" in line for line in secure.metrics["privacy"]["coordinator_observes"]
    )
    f1 = [e.metrics["arms"]["federated"]["overall"]["macro_f1"] for e in (plain, secure)]
    assert abs(f1[0] - f1[1]) < 0.05


@pytest.mark.parametrize(
    "overrides, per_round, threshold",
    [
        ([], 5, 3),
        (["strategy.fraction=0.6"], 3, 2),
        (["strategy.fraction=0.6", "privacy.secagg_threshold=3"], 3, 3),
    ],
)
def test_the_reported_threshold_is_that_of_a_round(overrides, per_round, threshold):
    """The threshold applies to the organizations a round selects, never below a majority."""
    scenario = load_scenario(
        "unsw-5org-disjoint", ["privacy.secure_aggregation=true", "privacy.audit=false", *overrides]
    )
    privacy = privacy_section(scenario, {})
    section = privacy["secure_aggregation"]
    assert section["organizations_per_round"] == per_round
    assert section["threshold"] == threshold
    assert section["tolerated_dropouts"] == per_round - threshold
    assert f"{threshold}-of-{per_round} per round" in privacy_lines(privacy)[0]


def test_homomorphic_encryption_changes_the_model_by_ckks_noise_only(data_dir, federation):
    plain = _run(data_dir, federation)
    encrypted = _run(data_dir, federation, "privacy.homomorphic_encryption=true")
    models = [e.arms["federated"].models["org1"].get_weights() for e in (plain, encrypted)]
    assert 0 < max_abs_diff(*models) < 1e-2  # 8 rounds of ~1e-9 CKKS noise, amplified by SGD
    protected = encrypted.arms["federated"].protection_seconds
    assert len(protected) == 8
    assert encrypted.timing["homomorphic_encryption_round_s"] == round(float(np.mean(protected)), 4)
    assert 0 < sum(protected) < encrypted.timing["arms_s"]["federated"]
    privacy = encrypted.metrics["privacy"]
    assert (
        privacy["homomorphic_encryption"]["enabled"]
        and "CKKS" in privacy["homomorphic_encryption"]["scheme"]
    )
    assert any(
        "cannot" in line or "not decrypt" in line for line in privacy["coordinator_observes"]
    )
    assert any(line.startswith("- Homomorphic encryption: on") for line in privacy_lines(privacy))
    f1 = [e.metrics["arms"]["federated"]["overall"]["macro_f1"] for e in (plain, encrypted)]
    assert abs(f1[0] - f1[1]) < 0.05


def test_dp_sgd_spends_no_more_than_the_target_epsilon(data_dir, federation):
    private = _run(data_dir, federation, "privacy.sample_dp.epsilon=3")
    spent = private.metrics["privacy"]["sample_dp"]["per_arm"]["federated"]
    assert set(spent) == {o.name for o in federation.orgs}
    for org in spent.values():
        assert 0 < org["epsilon"] <= 3.0 and org["steps"] == 8 * 10
        assert org["noise_multiplier"] > 0.5
    assert any("target ε = 3" in line for line in privacy_lines(private.metrics["privacy"]))


def test_the_clipping_rule_changes_the_model_not_the_epsilon(data_dir, federation):
    """Every rule keeps each record within max_grad_norm, so the noise and the accountant's
    epsilon are those of flat clipping; only what is learned differs."""
    runs = {
        rule: _run(data_dir, federation, "privacy.sample_dp.epsilon=3", *extra)
        for rule, extra in {
            "flat": [],
            "automatic": ["privacy.sample_dp.clipping=automatic"],
            "weighed": ["privacy.sample_dp.weigh_after_clipping=true"],
            "sampled": ["privacy.sample_dp.class_sampling=true"],
        }.items()
    }
    spent = {rule: r.metrics["privacy"]["sample_dp"] for rule, r in runs.items()}
    assert spent["flat"]["per_arm"] == spent["automatic"]["per_arm"] == spent["weighed"]["per_arm"]
    # class sampling draws no record above the rate the accountant charges: same epsilon
    assert spent["sampled"]["per_arm"] == spent["flat"]["per_arm"]
    assert spent["sampled"]["class_sampling"] and not spent["flat"]["class_sampling"]
    assert any(
        "Class sampling: records drawn at rates" in line
        for line in privacy_lines(runs["sampled"].metrics["privacy"])
    )
    assert spent["automatic"]["clipping"] == "automatic"
    assert any(
        "automatic clipping to norm 1.0" in line
        for line in privacy_lines(runs["automatic"].metrics["privacy"])
    )
    models = {r: run.arms["federated"].models["org1"].get_weights() for r, run in runs.items()}
    assert max_abs_diff(models["flat"], models["automatic"]) > 1e-3
    assert max_abs_diff(models["flat"], models["weighed"]) > 1e-3
    assert max_abs_diff(models["flat"], models["sampled"]) > 1e-3


def test_client_dp_with_five_organizations_is_flagged_as_meaningless(data_dir, federation):
    noisy = _run(data_dir, federation, "privacy.client_dp.noise_multiplier=1.0")
    client = noisy.metrics["privacy"]["client_dp"]
    assert client["epsilon_pld"] > 10 and "no meaningful protection" in client["warning"]


def test_void_client_dp_noise_fails_before_any_data_is_read_or_model_trained(tmp_path):
    scenario = load_scenario("unsw-5org-disjoint", ["privacy.client_dp.noise_multiplier=0.01"])
    empty = tmp_path / "no-datasets-here"
    with pytest.raises(ConfigError, match=r"privacy.client_dp.noise_multiplier: .* 0.01 over 200"):
        run_experiment(scenario, empty)
    out = tmp_path / "run"
    args = ["simulate", "unsw-5org-disjoint", "--out", str(out), "--data-dir", str(empty)]
    result = CliRunner().invoke(app, [*args, "--set", "privacy.client_dp.noise_multiplier=0.01"])
    assert result.exit_code == 2
    assert "bounds nothing" in " ".join(result.output.split())
    assert not out.exists()


def test_client_dp_that_no_round_could_release_fails_before_any_data_is_read(tmp_path):
    scenario = load_scenario(
        "unsw-5org-disjoint",
        ["privacy.client_dp.noise_multiplier=1.0", "privacy.client_dp.min_reporting=6"],
    )
    with pytest.raises(ConfigError, match=r"min_reporting: 6 organizations, but a round"):
        run_experiment(scenario, tmp_path / "no-datasets-here")


def test_client_dp_noise_shares_cover_the_secure_sums_floor(data_dir, federation):
    secure = _run(
        data_dir,
        federation,
        "privacy.client_dp.noise_multiplier=1.0",
        "privacy.secure_aggregation=true",
    )
    assert secure.metrics["privacy"]["client_dp"]["noise_shares_cover"] == 3  # of 5


@pytest.mark.parametrize(
    "protection, seen",
    [
        ([], "control-variate change (its full local gradient), in clear"),
        (["privacy.secure_aggregation=true"], "only inside the same protected sum"),
        (["privacy.homomorphic_encryption=true"], "only inside the same protected sum"),
    ],
)
def test_the_report_says_where_scaffold_control_variates_go(protection, seen):
    scenario = load_scenario("unsw-5org-disjoint", ["strategy.name=scaffold", *protection])
    assert any(seen in line for line in coordinator_view(scenario))


def test_membership_audit_reports_chance_level_for_indistinguishable_scores():
    rng = np.random.default_rng(0)
    same = attack_strength(rng.normal(size=4000), rng.normal(size=4000))
    assert abs(same["auc"] - 0.5) < 0.03 and same["advantage"] < 0.05
    leaky = attack_strength(rng.normal(1.0, 1, 4000), rng.normal(size=4000))
    assert leaky["auc"] > 0.7 and leaky["advantage"] > 0.3


def test_dp_statistics_are_charged_to_the_record_level_epsilon(data_dir, federation):
    from fedsec.fl.privacy.dp_stats import composed_epsilon

    private = _run(
        data_dir,
        federation,
        "privacy.sample_dp.epsilon=3",
        "privacy.sample_dp.stats_epsilon_share=0.2",
    )
    section = private.metrics["privacy"]["sample_dp"]
    assert section["statistics"]["covered"] and section["statistics"]["epsilon_share"] == 0.2
    for org in section["per_arm"]["federated"].values():
        total = composed_epsilon(
            org["statistics_noise_multiplier"],
            org["noise_multiplier"],
            org["sample_rate"],
            org["steps"],
            1e-5,
        )
        assert org["epsilon"] == pytest.approx(total, abs=1e-4)
        assert org["epsilon_dp_sgd"] < org["epsilon"] <= 3.0
    lines = privacy_lines(private.metrics["privacy"])
    assert any("Preprocessing statistics: released with DP noise" in line for line in lines)
    plain = _run(data_dir, federation, "privacy.sample_dp.epsilon=3")
    assert not plain.metrics["privacy"]["sample_dp"]["statistics"]["covered"]
    outside = [
        line
        for line in privacy_lines(plain.metrics["privacy"])
        if line.startswith("- Not covered by any ε")
    ]
    assert len(outside) == 1
    assert "preprocessing statistics and class weights, computed without noise" in outside[0]
    covered = private.metrics["privacy"]["not_covered_by_epsilon"]
    assert not any("preprocessing statistics" in item for item in covered)


def test_class_sampling_rates_from_dp_statistics_stay_within_the_composed_epsilon(
    data_dir, federation
):
    """The recommended path: the class weights, hence the sampling rates, come from the
    statistics released with their own noise, so the reported epsilon covers them."""
    sampled = _run(
        data_dir,
        federation,
        "privacy.sample_dp.epsilon=3",
        "privacy.sample_dp.stats_epsilon_share=0.2",
        "privacy.sample_dp.class_sampling=true",
    )
    section = sampled.metrics["privacy"]["sample_dp"]
    assert section["statistics"]["covered"] and section["class_sampling"]
    for org in section["per_arm"]["federated"].values():
        assert org["epsilon_dp_sgd"] < org["epsilon"] <= 3.0


def test_dp_statistics_outside_classification_simulations_are_refused():
    with pytest.raises(ConfigError, match=r"stats_epsilon_share.*classification"):
        load_scenario(
            "unsw-5org-anomaly",
            ["privacy.sample_dp.epsilon=3", "privacy.sample_dp.stats_epsilon_share=0.1"],
        )


@pytest.mark.parametrize(
    "scenario, extra, refusal",
    [
        ("unsw-5org-anomaly", [], r"class_sampling .*classification"),
        ("unsw-5org-disjoint", ["model.class_weighting=none"], r"class_weighting = .none."),
        ("unsw-5org-disjoint", ["privacy.sample_dp.weigh_after_clipping=true"], r"choose one"),
    ],
)
def test_class_sampling_it_cannot_honour_is_refused_when_loaded(scenario, extra, refusal):
    sets = ["privacy.sample_dp.epsilon=3", "privacy.sample_dp.class_sampling=true", *extra]
    with pytest.raises(ConfigError, match=refusal):
        load_scenario(scenario, sets)

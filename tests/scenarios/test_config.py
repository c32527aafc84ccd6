import pytest

from fedsec.core.configfile import parse_override
from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import builtin_names, load_scenario


def test_every_builtin_validates():
    names = builtin_names()
    assert {
        "unsw-5org-disjoint",
        "cicids-5org-disjoint",
        "nslkdd-5org-disjoint",
        "toniot-devices",
        "cross-dataset",
    } <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert len(scenario.org_names()) == scenario.org_count()


def test_overrides_reach_nested_and_listed_fields():
    scenario = load_scenario(
        "cross-dataset",
        [
            "rounds=3",
            "strategy.name=fedprox",
            "data.sources.1.name='unsw'",
            "split.test_size=0.25",
        ],
    )
    assert scenario.rounds == 3
    assert scenario.strategy.name == "fedprox"
    assert scenario.data.sources[1].name == "unsw"
    assert scenario.split.test_size == 0.25


def test_override_values_are_toml_with_text_fallback():
    assert parse_override("model.hidden=[32, 16]") == (["model", "hidden"], [32, 16])
    assert parse_override("strategy.name=fedavg") == (["strategy", "name"], "fedavg")


def test_an_unknown_strategy_is_the_one_error_said():
    with pytest.raises(ConfigError) as error:
        load_scenario("unsw-5org-disjoint", ["strategy.name=fedadamm"])
    assert "unknown strategy 'fedadamm'" in str(error.value)
    assert "server_lr" not in str(error.value)


@pytest.mark.parametrize(
    "override, message",
    [
        ("rounds=0", "rounds"),
        ("strategy.name=fedmagic", "strategy.name"),
        ("partition.colour=1", "partition.colour"),
        ("data.sources.9.name=x", "position 9 out of range"),
        ("data.sources.x.name=x", "'x' is not a position in a list of 1"),
        ("rounds", "key=value"),
        ('partition.families={org1=["dso"]}', r"unknown families \['dso'\]"),
        ('partition.families={org9=["dos"]}', r"unknown orgs \['org9'\]"),
        ('partition.names=["a","b","c","d","d"]', r"repeats \['d'\]"),
    ],
)
def test_bad_overrides_are_rejected_with_the_field_named(override, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario("unsw-5org-disjoint", [override])


def test_unknown_scenario_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="unknown scenario"):
        load_scenario("no-such-scenario")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_scenario(str(broken))
    unnamed = tmp_path / "unnamed.toml"
    unnamed.write_text(
        'name = "x"\n[data]\n[[data.sources]]\nformat = "unsw-nb15"\npaths = ["a"]\n'
        '[partition]\nrule = "per-source"\n'
    )
    with pytest.raises(ConfigError, match="need a name"):
        load_scenario(str(unnamed))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe x")
    with pytest.raises(ConfigError, match=r"binary\.toml: not UTF-8 text"):
        load_scenario(str(binary))
    with pytest.raises(ConfigError, match="a folder; give a scenario file"):
        load_scenario(str(tmp_path))


def test_resolved_config_round_trips(tmp_path):
    scenario = load_scenario("toniot-devices", ["seed=7"])
    path = tmp_path / "config.toml"
    path.write_text(scenario.to_toml())
    assert load_scenario(str(path)) == scenario


@pytest.mark.parametrize(
    "strategy, server_lr", [("fedadam", 0.03), ("fedavg", 1.0), ("fedprox", 1.0), ("scaffold", 1.0)]
)
def test_an_unset_server_lr_follows_the_strategy_and_is_stored(tmp_path, strategy, server_lr):
    scenario = load_scenario("nslkdd-5org-disjoint", [f"strategy.name={strategy}"])
    assert scenario.strategy.server_lr == server_lr
    path = tmp_path / "config.toml"
    path.write_text(scenario.to_toml())
    assert f"server_lr = {server_lr}" in path.read_text()
    assert load_scenario(str(path)) == scenario


def test_an_explicit_server_lr_wins_over_the_strategy_default():
    overrides = ["strategy.name=fedprox", "strategy.server_lr=0.5"]
    assert load_scenario("unsw-5org-disjoint", overrides).strategy.server_lr == 0.5
    with pytest.raises(ConfigError, match="server_lr"):
        load_scenario("unsw-5org-disjoint", ["strategy.server_lr=0"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("privacy.sample_dp.epsilon=-1", "epsilon"),
        ("privacy.sample_dp.delta=2", "delta"),
        ("privacy.client_dp.noise_multiplier=-0.5", "noise_multiplier"),
        ("privacy.secagg_threshold=9", "exceeds"),
        ("privacy.secure_aggregatoin=true", "secure_aggregatoin"),
    ],
)
def test_bad_privacy_settings_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario("unsw-5org-disjoint", [override])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["privacy.secure_aggregation=true", "privacy.homomorphic_encryption=true"], "choose one"),
        (["privacy.homomorphic_encryption=true", "strategy.fraction=0.2"], "at least 2"),
    ],
)
def test_homomorphic_encryption_is_refused_where_it_would_protect_nothing(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario("unsw-5org-disjoint", overrides)
    allowed = load_scenario("unsw-5org-disjoint", [overrides[0], "strategy.fraction=0.4"])
    assert allowed.smallest_round() == 2


def test_secagg_threshold_is_checked_against_the_organizations_of_a_round():
    """5 organizations, 2 selected per round: a threshold of 3 used to pass validation and
    fail in round 1; a round of one organization cannot be a secure sum at all."""
    base = ["privacy.secure_aggregation=true", "strategy.fraction=0.4"]
    with pytest.raises(ConfigError, match=r"secagg_threshold 3 exceeds .* select 2 of 5"):
        load_scenario("unsw-5org-disjoint", [*base, "privacy.secagg_threshold=3"])
    assert load_scenario("unsw-5org-disjoint", [*base, "privacy.secagg_threshold=2"])
    with pytest.raises(ConfigError, match="needs at least 2 organizations per round"):
        load_scenario("unsw-5org-disjoint", [base[0], "strategy.fraction=0.2"])
    with pytest.raises(ConfigError, match="secagg_threshold"):
        load_scenario("unsw-5org-disjoint", [base[0], "privacy.secagg_threshold=1"])


def test_dp_sgd_cannot_hide_unclipped_terms():
    with pytest.raises(ConfigError, match="cannot be combined"):
        load_scenario(
            "unsw-5org-disjoint", ["privacy.sample_dp.epsilon=2", "strategy.name=fedprox"]
        )


def test_privacy_fields_are_settable():
    scenario = load_scenario(
        "unsw-5org-disjoint",
        [
            "privacy.secure_aggregation=true",
            "privacy.sample_dp.epsilon=4",
            "privacy.client_dp.noise_multiplier=0.8",
            "privacy.client_dp.clip=0.5",
        ],
    )
    assert scenario.privacy.secure_aggregation
    assert scenario.privacy.sample_dp.enabled and scenario.privacy.sample_dp.epsilon == 4
    assert scenario.privacy.client_dp.enabled and scenario.privacy.client_dp.clip == 0.5
    assert not load_scenario(
        "unsw-5org-disjoint", ["privacy.sample_dp.epsilon=inf"]
    ).privacy.sample_dp.enabled


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_out_of_range_is_refused_naming_it(seed):
    """Negative seeds wrapped and seed n + 2**32 ran seed n's run: both are refused."""
    with pytest.raises(ConfigError, match=rf"seed: .*seed {seed} is out of range"):
        load_scenario("unsw-5org-disjoint", [f"seed={seed}"])
    assert load_scenario("unsw-5org-disjoint", [f"seed={2**32 - 1}"]).seed == 2**32 - 1


@pytest.mark.parametrize(
    ("scenario", "override"),
    [
        ("unsw-5org-disjoint", "strategy.server_lr=inf"),
        ("unsw-5org-disjoint", "privacy.weight_unit=inf"),
        ("unsw-5org-disjoint", "model.max_class_weight=inf"),
        ("unsw-5org-disjoint", "training.weight_decay=inf"),
        ("unsw-5org-disjoint", "robustness.max_weight_ratio=inf"),
        ("unsw-5org-disjoint", "gate.max_drop=nan"),
        ("hdfs-5org", "logs.pca_variance=nan"),
    ],
)
def test_nan_and_infinity_are_refused_in_every_section(scenario, override):
    """TOML's inf/nan passed every bound: server_lr=inf trained NaN weights and died in a
    traceback from scikit-learn ("Input contains NaN"); each is now refused naming the key."""
    key = override.split("=")[0].split(".")[-1]
    with pytest.raises(ConfigError, match=rf"{key}: Input should be a finite number"):
        load_scenario(scenario, [override])


def test_an_infinite_dp_epsilon_still_means_no_dp():
    assert load_scenario("unsw-5org-disjoint", ["privacy.sample_dp.epsilon=inf"]).privacy
    with pytest.raises(ConfigError, match="epsilon"):
        load_scenario("unsw-5org-disjoint", ["privacy.sample_dp.epsilon=nan"])

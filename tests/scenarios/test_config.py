import pytest

from fedsec.errors import ConfigError
from fedsec.scenarios.config import builtin_names, load_scenario, parse_override


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


@pytest.mark.parametrize(
    "override, message",
    [
        ("rounds=0", "rounds"),
        ("strategy.name=fedmagic", "strategy.name"),
        ("partition.colour=1", "partition.colour"),
        ("data.sources.9.name=x", "out of range"),
        ("rounds", "key=value"),
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


def test_resolved_config_round_trips(tmp_path):
    scenario = load_scenario("toniot-devices", ["seed=7"])
    path = tmp_path / "config.toml"
    path.write_text(scenario.to_toml())
    assert load_scenario(str(path)) == scenario

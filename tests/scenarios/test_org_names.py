"""Organization names follow one rule when a scenario or a simulation is read: a name NVFlare
would refuse at provisioning (or that is no plain folder name) is refused with the file, the
name and the rule; every built-in scenario and simulation follows it."""

from __future__ import annotations

import pytest

from fedsec.core import org_names
from fedsec.core.errors import ConfigError
from fedsec.scenarios.loading import builtin_names, load_scenario
from fedsec.simulator import builtin_names as builtin_simulations
from fedsec.simulator import load_simulation

SCENARIO = """name = "named"
[data]
[[data.sources]]
format = "unsw-nb15"
paths = ["a.csv"]
[partition]
orgs = 2
names = ["lab-1", {name}]
"""
BAD = ["bad/name", "grid b", "x" * 300, ".hidden", "-dash", "plant.2", ""]


def _scenario(tmp_path, name: str):
    path = tmp_path / "orgs.toml"
    path.write_text(SCENARIO.format(name=f'"{name}"'))
    return path


@pytest.mark.parametrize("name", BAD)
def test_a_name_nvflare_would_refuse_is_refused_when_the_scenario_is_read(tmp_path, name):
    path = _scenario(tmp_path, name)
    with pytest.raises(ConfigError) as refused:
        load_scenario(str(path))
    said = str(refused.value)
    assert str(path) in said and repr(name) in said and org_names.RULE in said
    assert "partition.names: organization name" in said


def test_a_valid_name_loads(tmp_path):
    scenario = load_scenario(str(_scenario(tmp_path, "Grid_B")))
    assert scenario.org_names() == ["lab-1", "Grid_B"]


def test_names_differing_only_in_case_are_one_organization(tmp_path):
    with pytest.raises(ConfigError, match=r"\['LAB-1'\] listed twice"):
        load_scenario(str(_scenario(tmp_path, "LAB-1")))


def test_per_source_organizations_follow_the_rule(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text(
        'name = "x"\n[data]\n[[data.sources]]\nformat = "unsw-nb15"\nname = "a b"\n'
        'paths = ["a"]\n[partition]\nrule = "per-source"\n'
    )
    refused = r"data\.sources \(their names\): organization name 'a b' is not allowed"
    with pytest.raises(ConfigError, match=refused):
        load_scenario(str(path))


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_scenario_follows_the_rule(name):
    assert all(org_names.is_valid(org) for org in load_scenario(name).org_names())


@pytest.mark.parametrize("name", builtin_simulations())
def test_every_builtin_simulation_follows_the_rule(name):
    assert all(org_names.is_valid(org.name) for org in load_simulation(name).orgs)


@pytest.mark.parametrize("name", ["bad/name", "x" * 65, "Plant"])
def test_a_simulation_takes_the_same_rule(tmp_path, name):
    path = tmp_path / "sim.toml"
    path.write_text(
        f'name = "s"\n[[orgs]]\nname = "plant"\narchetype = "iot"\n'
        f'[[orgs]]\nname = "{name}"\narchetype = "cloud"\n'
    )
    with pytest.raises(ConfigError) as refused:
        load_simulation(str(path))
    assert str(path) in str(refused.value) and repr(name) in str(refused.value)

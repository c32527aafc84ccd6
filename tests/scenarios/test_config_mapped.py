"""Scenarios with ``format = "mapped"``: the mapping given inline or as a file (read into the
scenario), checked when the scenario loads; attack-only data refused before any training."""

import tomllib

import pandas as pd
import pytest

from fedsec.core.errors import ConfigError
from fedsec.scenarios.config import parse_scenario
from fedsec.scenarios.federation import build_federation
from fedsec.scenarios.loading import load_scenario

SCENARIO = """
name = "mine"
rounds = 2
[[data.sources]]
format = "mapped"
paths = ["flows.csv"]
mapping = "maps/flows.toml"
"""
MAPPING = """
label = "kind"
context = ["Src IP"]
[families]
zap = "ddos"
[canonical]
duration_s = { column = "dur", scale = 0.001 }
"""


def write(folder, scenario=SCENARIO, mapping=MAPPING):
    (folder / "maps").mkdir(exist_ok=True)
    (folder / "maps" / "flows.toml").write_text(mapping)
    path = folder / "scenario.toml"
    path.write_text(scenario)
    return path


def test_a_mapping_file_is_read_relative_to_the_scenario_and_kept_in_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)  # not the scenario's folder
    scenario = load_scenario(str(write(tmp_path)))
    mapping = scenario.data.sources[0].mapping
    assert mapping.label == "kind" and mapping.families == {"zap": "ddos"}
    assert mapping.canonical_column("duration_s").scale == 0.001
    saved = tomllib.loads(scenario.to_toml())
    assert parse_scenario(saved).data.sources[0].mapping == mapping


def test_an_invalid_mapping_names_its_file_and_field(tmp_path):
    path = write(tmp_path, mapping=MAPPING.replace('zap = "ddos"', 'zap = "nasty"'))
    with pytest.raises(ConfigError, match=r"flows.toml: invalid mapping: .*'nasty'.*canonical"):
        load_scenario(str(path))
    path = write(tmp_path, mapping='label = "kind"\ncontext = ["kind"]\n')
    with pytest.raises(ConfigError, match="column 'kind' is both label and context"):
        load_scenario(str(path))
    (tmp_path / "maps" / "flows.toml").unlink()
    with pytest.raises(ConfigError, match=r"mapping file .*flows.toml not found"):
        load_scenario(str(tmp_path / "scenario.toml"))


def test_format_mapped_needs_a_mapping_and_no_other_format_takes_one(tmp_path):
    path = write(tmp_path, scenario=SCENARIO.replace('mapping = "maps/flows.toml"', ""))
    with pytest.raises(ConfigError, match='format = "mapped" needs a mapping'):
        load_scenario(str(path))
    path = write(tmp_path, scenario=SCENARIO.replace('"mapped"', '"flows"'))
    with pytest.raises(ConfigError, match="only with format = \"mapped\", not 'flows'"):
        load_scenario(str(path))


def test_attack_only_data_is_refused_saying_nothing_calibrates_it(tmp_path):
    pd.DataFrame(
        {
            "Src IP": ["10.0.0.1"] * 60,
            "dur": range(60),
            "bytes": range(60),
            "kind": ["zap", "ddos", "dos"] * 20,
        }
    ).to_csv(tmp_path / "flows.csv", index=False)
    scenario = load_scenario(str(write(tmp_path)))
    with pytest.raises(ConfigError, match=r"no benign rows in any source.*calibrate"):
        build_federation(scenario, tmp_path)

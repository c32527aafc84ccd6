"""write_dataset: folders per organization, the manifest, the experiment scenario, safety."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from fedsec.core.errors import ConfigError
from fedsec.data.readers import read_flows
from fedsec.scenarios.loading import load_scenario
from fedsec.simulator.output import write_dataset


@pytest.fixture(scope="module")
def written(small_simulation, tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "consortium"
    manifest = write_dataset(small_simulation, out, "flows")
    return out, manifest


def test_one_folder_per_org_with_daily_files_and_events(written, small_simulation) -> None:
    out, manifest = written
    for org in small_simulation.orgs:
        folder = out / org.name
        days = sorted(folder.glob("flows-*.csv"))
        assert len(days) == small_simulation.config.days
        assert (folder / "events.csv").is_file()
        table = read_flows("flows", days)
        assert len(table) == len(org.flows) == manifest["orgs"][org.name]["flows"]
        assert set(table.origin) == {org.name}
        events = pd.read_csv(folder / "events.csv")
        assert len(events) == manifest["orgs"][org.name]["events"]


def test_manifest_counts_families_per_window(written, small_simulation) -> None:
    out, manifest = written
    assert json.loads((out / "manifest.json").read_text()) == manifest
    boundary = small_simulation.config.start_epoch + small_simulation.config.train_days * 86400
    for org in small_simulation.orgs:
        counts = manifest["orgs"][org.name]["families"]
        train = org.flows[org.flows["ts"] < boundary]
        assert counts["train"] == dict(Counter(train["family"]))
        assert sum(counts["train"].values()) + sum(counts["test"].values()) == len(org.flows)
    schedule = manifest["campaigns"]["cold-lock"]["schedule"]
    assert [s["org"] for s in schedule if s["stage"] == 0] == ["office", "grid", "plant"]
    assert {s["window"] for s in schedule if s["org"] == "office"} == {"train"}


def test_scenario_toml_trains_on_the_first_days(written, small_simulation) -> None:
    out, _ = written
    scenario = load_scenario(str(out / "scenario.toml"))
    assert scenario.partition.rule == "per-source"
    assert scenario.data.view == "canonical"
    config = small_simulation.config
    for source in scenario.data.sources:
        assert len(source.paths) == config.train_days
        assert len(source.test_paths) == config.days - config.train_days
        assert all((out / p).is_file() for p in source.paths + source.test_paths)


def test_refuses_to_replace_a_foreign_directory(small_simulation, tmp_path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not empty"):
        write_dataset(small_simulation, tmp_path, "flows")
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_unknown_format_is_refused(small_simulation, tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown output format"):
        write_dataset(small_simulation, tmp_path / "x", "parquet")

"""``fedsec federation site-config`` lists the scenario's organizations as the consortium's
members, so a generated config refuses parties of no listed site in its secure sums."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w
from typer.testing import CliRunner

import fedsec.scenarios
from fedsec.cli import app
from fedsec.engines.nvflare.site_config import load_site_config
from fedsec.fl import recipe
from fedsec.fl.aggregation.grouped import fixed_groups
from fedsec.scenarios.loading import load_scenario

runner = CliRunner()


def test_a_generated_site_config_lists_the_consortiums_members(tmp_path, data_dir):
    out = tmp_path / "fedsec_site.toml"
    args = ["federation", "site-config", "logs-cross-system", "--org", "hadoop"]
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    members = tomllib.loads(out.read_text())["secure_aggregation"]["members"]
    assert members == load_scenario("logs-cross-system").org_names()
    assert "hadoop" in members and "members is unset" not in result.output


def test_a_grouped_scenarios_site_config_pins_its_fixed_group(tmp_path, data_dir):
    """A grouped scenario's generated config holds the group size and seed (read back as
    written): the site's own group is the one the scenario's coordinator cuts."""
    builtin = Path(fedsec.scenarios.__file__).with_name("builtin") / "logs-cross-system.toml"
    raw = tomllib.loads(builtin.read_text())
    raw["privacy"] = raw.get("privacy", {}) | {"secure_aggregation": True, "secagg_group_size": 2}
    raw["robustness"] = {"rule": "median"}
    source = tmp_path / "grouped.toml"
    source.write_text(tomli_w.dumps(raw))
    scenario = load_scenario(str(source))
    out = tmp_path / "fedsec_site.toml"
    args = ["federation", "site-config", str(source), "--org", "hadoop", "--out", str(out)]
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    own = load_site_config(out).secure_aggregation
    plan = recipe.protection_plan(scenario.privacy, scenario.seed)
    assert plan is not None and (own.group_size, own.group_seed) == (2, plan.seed)
    fixed = fixed_groups(scenario.org_names(), 2, plan.seed)
    assert own.own_group("hadoop") == sorted(next(g for g in fixed if "hadoop" in g))

"""``fedsec federation site-config`` lists the scenario's organizations as the consortium's
members, so a generated config refuses parties of no listed site in its secure sums."""

from __future__ import annotations

import tomllib

from typer.testing import CliRunner

from fedsec.cli import app
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

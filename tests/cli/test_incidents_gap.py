"""``fedsec incidents --gap inf`` (or a gap whose seconds overflow, ``1e308``) read and
correlated every alert, then died with a traceback writing the report (``ValueError: Out of
range float values are not JSON compliant``). A gap longer than a century is now refused
before anything is read."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.cli.test_incidents_stix_target import grid_alerts  # noqa: F401 (a fixture)

runner = CliRunner()


@pytest.mark.parametrize("gap", ["inf", "1e308", "876001"])
def test_a_gap_beyond_a_century_is_refused_before_reading(grid_alerts, tmp_path, gap):  # noqa: F811
    out = tmp_path / "report"
    result = runner.invoke(app, ["incidents", str(grid_alerts), "--out", str(out), "--gap", gap])
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, ValueError)
    text = " ".join(result.output.split())
    assert "--gap" in text and "at most 876,000 h (a century)" in text
    assert not out.exists()


def test_a_century_links_what_the_default_gap_links_and_more(grid_alerts, tmp_path):  # noqa: F811
    counts = {}
    for gap in ("8", "876000"):
        out = tmp_path / f"gap-{gap}"
        result = runner.invoke(
            app, ["incidents", str(grid_alerts), "--out", str(out), "--gap", gap]
        )
        assert result.exit_code == 0, result.output
        document = json.loads((out / "incidents.json").read_text())
        assert document["settings"]["gap_s"] == float(gap) * 3600
        counts[gap] = document["summary"]["isolated_alerts"]
    assert counts["876000"] <= counts["8"]

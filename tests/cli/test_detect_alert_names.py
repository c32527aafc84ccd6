"""The names `fedsec detect` writes into every alert (organization.name, observer.name) are
checked before anything is read: one with a terminal escape or a bidirectional override made
alerts that `fedsec incidents` then refused line by line, and reached the console raw."""

import pytest
from typer.testing import CliRunner

from fedsec.cli import app

HOSTILE = ["\x1b]0;owned\x07", "org\u202e1", "  ", "sensor\r\nerror: forged"]


@pytest.mark.parametrize("option", ["--organization", "--observer"])
@pytest.mark.parametrize("name", HOSTILE)
def test_a_name_with_control_characters_is_refused_before_reading(option, name, tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text("never read\n")
    out = tmp_path / "alerts.jsonl"
    args = ["detect", "--model", str(tmp_path / "absent"), "--format", "csv", "--input", str(flows)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), option, name])
    assert result.exit_code == 2, result.output
    assert "cannot name it in alerts" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert not out.exists()

"""Alert lines read back by ``fedsec incidents``: a family that is not a family name, or an
address that is not an IP address, is refused as one error naming the file and line (exit 2),
never printed raw, written into the report or the STIX bundle; organizations, free text, are
shown escaped."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core.errors import InputError
from fedsec.forensics.alerts import read_alerts
from tests.forensics.ecs import write_lines
from tests.forensics.kill_chain import kill_chain

runner = CliRunner()
FORGED = "brute_force\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\r\nerror: fake"


def _chain_with(tmp_path, edit, at: int = 7):
    """A real-shaped alerts file (a kill chain), its line ``at`` (1-based) edited."""
    alerts = kill_chain("office", 0, iter(range(1, 1000)))
    edit(alerts[at - 1])
    path = tmp_path / "alerts.jsonl"
    write_lines(path, alerts)
    return path


def _family(alert: dict) -> None:
    alert["fedsec"]["family"] = alert["rule"]["name"] = FORGED


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (_family, "alert family 'brute_force\\x1b]0;pwned"),
        (lambda a: a["source"].update(ip="1.2.3.4\x1b[2J<script>"), "field source.ip is"),
        (lambda a: a["destination"].update(ip="10.0.0.300"), "field destination.ip is"),
        (lambda a: a["destination"].update(ip="fe80::1%\x1b[2J"), "field destination.ip is"),
    ],
)
def test_a_forged_family_or_address_is_refused_by_file_and_line(tmp_path, edit, said):
    path = _chain_with(tmp_path, edit)
    with pytest.raises(InputError, match=r"alerts\.jsonl:7") as refused:
        read_alerts([path])
    assert said in str(refused.value) and "\x1b" not in str(refused.value)


def test_incidents_with_stix_refuses_a_forged_family_and_writes_nothing(tmp_path):
    path = _chain_with(tmp_path, _family)
    out, stix = tmp_path / "inc", tmp_path / "office.stix.json"
    command = ["incidents", str(path), "--out", str(out), "--stix", str(stix)]
    result = runner.invoke(app, [*command, "--identity", "office", "--min-alerts", "1"])
    assert result.exit_code == 2
    assert "\x1b" not in result.output and "not a family name" in result.output
    assert not out.exists() and not stix.exists()


@pytest.mark.parametrize(
    "name", ["office\x1b[2J\x1b]0;pwned\x07[bold]x", "org\u202eDER", "of\u200bfice"]
)
def test_an_organization_with_control_or_formatting_characters_is_refused(tmp_path, name):
    """Escapes, a bidirectional override, a zero-width space: the organization reaches the
    console, the HTML report and the STIX identity, so such a line is refused by line."""
    alerts = kill_chain(name, 0, iter(range(1, 1000)))
    path = tmp_path / "alerts.jsonl"
    write_lines(path, alerts)
    out = tmp_path / "inc"
    result = runner.invoke(app, ["incidents", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "holds control or formatting characters" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert not out.exists()

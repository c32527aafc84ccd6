"""fedsec incidents refuses a --stix path that reads as an option and a --gap that is no
number, before anything is read, saying so."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fedsec.cli import app

runner = CliRunner()


@pytest.mark.parametrize("name", ["--out", "-o", "--force"])
def test_a_stix_path_that_reads_as_an_option_is_refused(tmp_path, monkeypatch, name) -> None:
    monkeypatch.chdir(tmp_path)
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("")
    result = runner.invoke(app, ["incidents", str(alerts), "--stix", name, "report"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "looks like an option, not a file name" in text and "--stix" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.jsonl"]


@pytest.mark.parametrize(("gap", "said"), [("nan", "is not a number"), ("0", "at least 0.001")])
def test_a_gap_that_is_no_number_is_said_so(tmp_path, gap, said) -> None:
    """``--gap nan`` was refused with "must be >= 0.001": NaN is no number at all."""
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("")
    out = tmp_path / "report"
    result = runner.invoke(app, ["incidents", str(alerts), "--out", str(out), "--gap", gap])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert said in text and "--gap" in text
    assert ">= 0.001" not in text
    assert not out.exists()

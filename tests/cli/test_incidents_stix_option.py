"""``fedsec incidents --stix --out X``: click took ``--out`` as the STIX path (and X as an
alerts file); a STIX path that reads as an option is now refused before anything is read."""

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

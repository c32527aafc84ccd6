"""An output under a path that is a file (``--out alerts.jsonl/report``) is refused as such;
the refusal called the file "not writable (read-only or no permission)", sending one to check
permissions and mounts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.core import outputs

runner = CliRunner()


@pytest.mark.parametrize("below", ["report", "deeper/report"])
def test_an_output_under_a_file_is_refused_as_under_a_file(tmp_path, below):
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("{}\n")
    out = alerts / below
    args = ["generate", "consortium", "--set", "flows=2000", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"{out} cannot be written: {alerts} is a file, not a folder; choose another --out" in (
        said
    )
    assert "read-only" not in said and alerts.read_text() == "{}\n"
    with pytest.raises(outputs.OutputError, match="is a file, not a folder; choose another --x"):
        outputs.check_file(out, option="--x")

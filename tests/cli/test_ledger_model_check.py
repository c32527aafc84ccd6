"""fedsec federation ledger and the global models a site's [model_check] refused: its operator
sees them and, once reviewed, lets the site take part in jobs again."""

import json

from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE, LedgerFile

runner = CliRunner()


def _text(result) -> str:
    return " ".join(result.output.split())


def test_the_operator_sees_the_refusals_and_resets_them(tmp_path):
    ledger = tmp_path / LEDGER_FILE
    LedgerFile(ledger, "job-a").save([(1.1, 0.01, 400)])
    for job in ("job-a", "job-b"):
        LedgerFile(ledger, job).check_model("plant", 99, lambda: "seeded")

    shown = runner.invoke(app, ["federation", "ledger", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    text = _text(shown)
    assert "model check: 2 global model(s) refused, last at " in text
    assert "(--reset-model-check once reviewed)" in text and " in job job-b@" in text

    reset = runner.invoke(app, ["federation", "ledger", str(tmp_path), "--reset-model-check"])
    assert reset.exit_code == 0, reset.output
    assert "2 model-check refusal(s) removed" in _text(reset)
    kept = json.loads(ledger.read_text())
    assert "model_check" not in kept and len(kept["jobs"]) == 1  # its DP steps stay
    assert len(LedgerFile(ledger, "job-c").read().model_check) == 0
    again = runner.invoke(app, ["federation", "ledger", str(tmp_path)])
    assert "model check: 0 global model(s) refused" in _text(again)


def test_a_ledger_written_before_the_section_reads_as_no_refusal(tmp_path):
    (tmp_path / LEDGER_FILE).write_text('{"jobs": {"old@1": [[1.0, 0.02, 10]]}}')
    assert len(LedgerFile(tmp_path / LEDGER_FILE, "new").read().model_check) == 0
    result = runner.invoke(app, ["federation", "ledger", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "model check: 0 global model(s) refused" in _text(result)

"""Alert lines Python cannot read as they are (nested too deep, a number of over 4300 digits)
are one error naming the file and line (exit 2), not a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.forensics.ecs import ecs_alert

runner = CliRunner()
#: An alert whose destination port is Infinity (Python's json reads it): no port, no traceback.
LATE = json.dumps(ecs_alert(9, "10.1.2.3", "10.1.2.4", "recon", dst_port=0)).replace(
    '"port": 0', '"port": Infinity'
)


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("[" * 100_000 + "]" * 100_000, "alerts.jsonl:2: not an alert: nested too deep"),
        ('{"a": ' + "9" * 5000 + "}", "alerts.jsonl:2: not an alert: a number of over 4300"),
        (LATE.replace('"source_row": 1', '"source_row": 1' + "0" * 400), "source_row is 10000"),
    ],
)
def test_a_line_python_cannot_read_is_one_error_naming_it(tmp_path, monkeypatch, line, said):
    monkeypatch.chdir(tmp_path)  # the file named as given: no folder in the message
    good = json.dumps(ecs_alert(0, "10.1.2.3", "10.1.2.4", "recon"))
    (tmp_path / "alerts.jsonl").write_text(f"{good}\n{line}\n")
    result = runner.invoke(app, ["incidents", "alerts.jsonl", "--out", "inc"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert said in " ".join(result.output.split())
    assert not (tmp_path / "inc").exists()


def test_an_infinite_port_is_no_port(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_text(LATE + "\n")
    result = runner.invoke(app, ["incidents", str(path), "--out", str(tmp_path / "inc")])
    assert result.exit_code == 0, result.output

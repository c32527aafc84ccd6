"""A flagged row whose time is not one is refused naming the file's own column
(``column 'start_time' holds ...``), as the classifier's column-wise alerts already did, also
where alerts are written from records: an anomaly detector's alerts, and a classifier's whose
file has a context column named as an alert field (``session``). Those named the role
(``column 'timestamp'``), which the file does not have. Real CIC-IDS2017 flows, exported with a
SOC's column names and times written day first."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from tests.cli.mapped_soc import MAPPING, ROLES, soc, soc_flows  # noqa: F401
from tests.detect.soc_anomaly import soc_anomaly  # noqa: F401

runner = CliRunner()
FORMATS = ["ecs", "eve", "fedsec"]


def _day_first(folder, flows: pd.DataFrame):
    """``flows`` with every start_time written day first (``03/07/2017 12:06:50``), as a file."""
    flows = flows.assign(
        start_time=flows["start_time"].map(lambda t: pd.Timestamp(t).strftime("%d/%m/%Y %X"))
    )
    path = folder / "day_first.csv"
    flows.to_csv(path, index=False)
    return path


def _refusal(model, mapping, flows, out, alert_format: str) -> str:
    args = ["detect", "--model", str(model), "--format", "mapped", "--mapping", str(mapping)]
    args += ["--input", str(flows), "--out", str(out), "--alert-format", alert_format]
    result = runner.invoke(app, [*args, "--threshold", "0"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert not out.exists()
    return said


@pytest.mark.parametrize("alert_format", FORMATS)
def test_an_anomaly_alerts_bad_time_names_the_files_column(soc_anomaly, tmp_path, alert_format):  # noqa: F811
    flows, mapping, model = soc_anomaly
    path = _day_first(tmp_path, pd.read_csv(flows))
    said = _refusal(model, mapping, path, tmp_path / "a.jsonl", alert_format)
    assert "day_first.csv" in said and "data row 1" in said and "time_format" in said
    assert "column 'start_time' holds" in said and "day and month order is ambiguous" in said
    assert "'timestamp'" not in said


@pytest.mark.parametrize("alert_format", FORMATS)
def test_a_record_written_alerts_bad_time_names_the_files_column(soc, tmp_path, alert_format):  # noqa: F811
    flows = soc_flows().assign(session=lambda f: [f"s-{i}" for i in range(len(f))])
    path = _day_first(tmp_path, flows)
    mapping = tmp_path / "session.toml"
    mapping.write_text(MAPPING.replace('context = ["', 'context = ["session", "') + ROLES)
    said = _refusal(soc[3], mapping, path, tmp_path / "a.jsonl", alert_format)
    assert "day_first.csv" in said and "column 'start_time' holds" in said
    assert "'timestamp'" not in said

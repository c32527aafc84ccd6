"""``fedsec detect`` on real CIC-IDS2017 flows exported as a SOC writes them: an alert's time is
the flow's own, read beyond doubt. A time with no date, no year, or whose day and month order
the text does not fix is refused (exit 2, the file, data row and the file's own column named,
nothing written) in every alert format and in a hunt, unless the mapping declares the layout
(``time_format``); unambiguous forms (ISO 8601 with or without offset, RFC 2822, a named
month) are read."""

import json
from datetime import UTC

import pandas as pd
import pytest
from typer.testing import CliRunner

from fedsec.cli import app
from fedsec.data.flow_times import utc_timestamp
from tests.cli.mapped_soc import MAPPING, ROLES, soc, soc_flows  # noqa: F401

runner = CliRunner()


def _flows_with_times(folder, times: str) -> tuple:
    """The SOC flows with every start_time written in ``times`` (a strftime layout)."""
    flows = soc_flows()
    flows["start_time"] = flows["start_time"].map(lambda t: pd.Timestamp(t).strftime(times))
    path = folder / "flows.csv"
    flows.to_csv(path, index=False)
    return path, flows


def _detect(soc, mapping, flows, out, *extra: str):  # noqa: F811
    model = soc[3]
    args = ["detect", "--model", str(model), "--format", "mapped", "--mapping", str(mapping)]
    args += ["--input", str(flows), "--out", str(out), "--threshold", "0", *extra]
    return runner.invoke(app, args)


@pytest.mark.parametrize(
    ("layout", "why"),
    [
        ("%d/%m/%Y %H:%M:%S", "day and month order is ambiguous"),
        ("%m/%d/%Y %I:%M:%S %p", "day and month order is ambiguous"),
        ("%H:%M:%S", "a time without a date"),
        ("%b %d %H:%M:%S", "a date without a year"),
    ],
)
@pytest.mark.parametrize("alert_format", ["ecs", "eve", "fedsec"])
def test_a_doubtful_time_is_refused_naming_the_files_column(
    soc,  # noqa: F811
    tmp_path,
    layout,
    why,
    alert_format,
):
    flows, _ = _flows_with_times(tmp_path, layout)
    out = tmp_path / "alerts.jsonl"
    result = _detect(soc, soc[2], flows, out, "--alert-format", alert_format)
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "column 'start_time' holds" in said and why in said and "data row 1" in said
    assert "flows.csv" in said and "time_format" in said
    assert not out.exists()


def test_a_declared_time_format_reads_day_first_dates(soc, tmp_path):  # noqa: F811
    flows, frame = _flows_with_times(tmp_path, "%d/%m/%Y %H:%M:%S")
    mapping = tmp_path / "day_first.toml"
    mapping.write_text('time_format = "%d/%m/%Y %H:%M:%S"\n' + MAPPING + ROLES)
    out = tmp_path / "alerts.jsonl"
    result = _detect(soc, mapping, flows, out)
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(alerts) == len(frame)
    for alert in alerts[:50]:
        row = frame.iloc[alert["fedsec"]["row"]]
        day, month = row["start_time"].split("/")[:2]
        assert alert["@timestamp"][5:10] == f"{month}-{day}"  # 3 July stays 3 July
        assert alert["@timestamp"].startswith("2017-07-")


def test_a_time_format_the_values_do_not_follow_is_refused(soc, tmp_path):  # noqa: F811
    flows, _ = _flows_with_times(tmp_path, "%Y-%m-%d %H:%M:%S")
    mapping = tmp_path / "wrong.toml"
    mapping.write_text('time_format = "%d/%m/%Y %H:%M:%S"\n' + MAPPING + ROLES)
    result = _detect(soc, mapping, flows, tmp_path / "a.jsonl")
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "column 'start_time'" in said and "time_format" in said


@pytest.mark.parametrize(
    "layout", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%d-%b-%Y %H:%M:%S", "%a, %d %b %Y %X"]
)
def test_an_unambiguous_time_is_read(soc, tmp_path, layout):  # noqa: F811
    flows, _ = _flows_with_times(tmp_path, layout)
    out = tmp_path / "alerts.jsonl"
    result = _detect(soc, soc[2], flows, out)
    assert result.exit_code == 0, result.output
    first = json.loads(out.read_text().splitlines()[0])
    assert first["@timestamp"].startswith("2017-07-")


def test_a_hunt_refuses_a_doubtful_time_as_detect_does(soc, tmp_path):  # noqa: F811
    flows, _ = _flows_with_times(tmp_path, "%H:%M:%S")
    model = soc[3]
    args = ["hunt", "--model", str(model), "--baseline", str(model), "--format", "mapped"]
    args += ["--mapping", str(soc[2]), "--input", str(flows), "--out", str(tmp_path / "h")]
    result = runner.invoke(app, [*args, "--threshold", "0", "--baseline-threshold", "1"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "column 'start_time'" in said and "a time without a date" in said


@pytest.mark.parametrize(
    "text",
    ["03/07/2017 12:06:50", "12:06:50", "Jul 03 12:06:50", "1899-07-03 12:06:50", "July 2017"],
)
def test_no_doubtful_text_gives_a_time(text):
    assert utc_timestamp(text, UTC) is None

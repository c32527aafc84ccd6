"""A mapped file whose context columns have a SOC's names (``start_time``, ``src_addr``, ...):
the mapping's ``[roles]`` carry the flow's time and addresses into the alerts, and so into
incidents (real CIC-IDS2017 flows, renamed as a SOC exports them)."""

# ruff: noqa: F811 (the fixture imported from mapped_soc)

import json

import pandas as pd

from fedsec.cli import app
from tests.cli.mapped_soc import MAPPING, ROLES, runner, soc, soc_flows  # noqa: F401 (fixture)


def detect(soc, mapping, out):
    _, flows, _, model = soc
    args = ["detect", "--model", str(model), "--format", "mapped", "--mapping", str(mapping)]
    return runner.invoke(app, [*args, "--input", str(flows), "--out", str(out)])


def test_roles_put_the_flows_time_and_addresses_in_alerts_and_incidents(soc, tmp_path):
    out = tmp_path / "alerts.jsonl"
    result = detect(soc, soc[2], out)
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(alerts) > 300
    first = alerts[0]
    row = soc_flows().iloc[first["fedsec"]["row"]]
    expected = pd.Timestamp(row["start_time"]).tz_convert("UTC")
    assert abs(pd.Timestamp(first["@timestamp"]) - expected) < pd.Timedelta("1ms")
    assert first["source"] == {"ip": row["src_addr"], "port": int(row["src_port"])}
    assert first["destination"]["ip"] == row["dst_addr"]
    assert "start_time" not in first["fedsec"].get("context", {})
    report = tmp_path / "incidents"
    result = runner.invoke(app, ["incidents", str(out), "--out", str(report)])
    assert result.exit_code == 0, result.output
    incidents = json.loads((report / "incidents.json").read_text())["incidents"]
    assert incidents and all(i["duration_s"] > 0 for i in incidents)
    assert all(i["timeline"][0]["sources"] >= 1 for i in incidents)
    assert any("from 172.16.0.1" in i["title"] for i in incidents)


def refused(soc, tmp_path, roles: str) -> str:
    """What detect says, exiting 2, of a mapping with ``roles`` as its ``[roles]`` table."""
    mapping = tmp_path / "roles.toml"
    mapping.write_text(MAPPING + roles)
    result = detect(soc, mapping, tmp_path / "a.jsonl")
    assert result.exit_code == 2
    return " ".join(result.output.split())


def test_a_role_naming_a_column_the_file_lacks_is_refused(soc, tmp_path):
    said = refused(soc, tmp_path, ROLES.replace('"src_addr"', '"source_addr"'))
    assert "[roles] gives src_ip to column 'source_addr', which the file lacks" in said
    assert "soc_flows.csv" in said


def test_an_unknown_role_is_refused_naming_the_known_ones(soc, tmp_path):
    said = refused(soc, tmp_path, ROLES.replace("src_ip =", "source_ip ="))
    assert "roles: unknown roles ['source_ip']" in said and "src_ip" in said


def test_a_column_in_another_unit_is_warned_of_and_the_run_goes_on(soc, tmp_path):
    """Milliseconds mapped as seconds (the scale left out): said once on stderr, naming the
    input column; the run goes on (exit 0)."""
    mapping = tmp_path / "unscaled.toml"
    unscaled = 'duration_s = "duration_ms"'
    mapping.write_text(
        MAPPING.replace('duration_s = { column = "duration_ms", scale = 1e-3 }', unscaled)
    )
    result = detect(soc, mapping, tmp_path / "a.jsonl")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert said.count("warning:") == 1 and "input column 'duration_ms' (feature duration_s)" in said
    assert "a likely unit mistake" in said


def test_the_models_own_data_raises_no_unit_warning(soc, tmp_path):
    result = detect(soc, soc[2], tmp_path / "alerts.jsonl")
    assert result.exit_code == 0 and "unit mistake" not in result.output


def test_a_hunt_warns_of_a_column_in_another_unit_in_its_output_and_its_report(soc, tmp_path):
    """The same scorers as detect's, so the same check: said once (both models trained on the
    same data), on stderr, in hunt.json and in report.md."""
    _, flows, _, model = soc
    mapping = tmp_path / "unscaled.toml"
    mapping.write_text(
        MAPPING.replace(
            'duration_s = { column = "duration_ms", scale = 1e-3 }', 'duration_s = "duration_ms"'
        )
    )
    out = tmp_path / "hunt"
    args = ["hunt", "--model", str(model), "--baseline", str(model), "--format", "mapped"]
    args += ["--mapping", str(mapping), "--input", str(flows), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    column = "input column 'duration_ms' (feature duration_s)"
    assert said.count("warning:") == 1 and column in said and "a likely unit mistake" in said
    (warning,) = json.loads((out / "hunt.json").read_text())["warnings"]
    assert warning.startswith(column)
    assert f"Warning: {warning}." in (out / "report.md").read_text()


def test_a_bad_time_on_a_row_that_raises_no_alert_is_refused(soc, tmp_path):
    """'03/07/2017 10:00' on a row the model does not flag was scored without a word (only a
    flagged row's time was checked, when its alert was written): refused now, exit 2, naming
    the file, the column, the value and the row; nothing written."""
    _, flows, mapping, model = soc
    out = tmp_path / "alerts.jsonl"
    result = detect(soc, mapping, out)
    assert result.exit_code == 0, result.output
    flagged = {json.loads(line)["fedsec"]["row"] for line in out.read_text().splitlines()}
    frame = pd.read_csv(flows)
    quiet = next(row for row in range(len(frame)) if row not in flagged)
    frame.loc[quiet, "start_time"] = "03/07/2017 10:00"
    bad = tmp_path / "bad_flows.csv"
    frame.to_csv(bad, index=False)
    args = ["detect", "--model", str(model), "--format", "mapped", "--mapping", str(mapping)]
    result = runner.invoke(app, [*args, "--input", str(bad), "--out", str(tmp_path / "b.jsonl")])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "bad_flows.csv" in said and "column 'start_time' holds '03/07/2017 10:00'" in said
    assert f"(data row {quiet + 1})" in said
    assert not (tmp_path / "b.jsonl").exists()
